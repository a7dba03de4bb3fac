"""Helpdesk and content statistics from stored records: a pure function and two renderings."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from intents.cards import Card, card_shell, text_block, title_block
from intents.model import Catalog, Lang
from intents.text import fold
from intents.ticket_cards import literal

Record = dict[str, Any]
TOP_UNANSWERED = 10
OLDEST_SHOWN = 5


@dataclass(frozen=True)
class TopicStats:
    topic: str
    answers: int
    helpful: int
    not_helpful: int
    escalations: int

    @property
    def helpful_rate(self) -> float | None:
        votes = self.helpful + self.not_helpful
        return self.helpful / votes if votes else None


@dataclass(frozen=True)
class Stats:
    topics: tuple[TopicStats, ...]
    open_by_age: tuple[tuple[str, int], ...]  # (bucket, count)
    oldest_open: tuple[tuple[str, float, str], ...]  # (ticket id, age in days, status)
    unanswered: tuple[tuple[str, int], ...]  # (question, times asked)


def _age_days(created: str, now: datetime) -> float:
    try:
        then = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return max(0.0, (now - then).total_seconds() / 86400)


def compute_stats(
    catalog: Catalog,
    answers: Iterable[Record],
    feedback: Iterable[Record],
    unanswered: Iterable[Record],
    tickets: Iterable[Record],
    now: datetime,
) -> Stats:
    answered = Counter(str(a.get("topic")) for a in answers)
    helpful = Counter(str(f.get("topic")) for f in feedback if f.get("helpful") is True)
    unhelpful = Counter(str(f.get("topic")) for f in feedback if f.get("helpful") is False)
    tickets = list(tickets)
    escalated = Counter(str(t.get("topic")) for t in tickets)
    topics = tuple(
        TopicStats(t.id, answered[t.id], helpful[t.id], unhelpful[t.id], escalated[t.id])
        for t in catalog.topics
    )
    open_tickets = sorted(
        (
            (t["id"], _age_days(str(t.get("created", "")), now), str(t.get("status")))
            for t in tickets
            if t.get("status") != "resolved"
        ),
        key=lambda item: -item[1],
    )
    buckets = Counter(
        "< 1 day" if age < 1 else "1-7 days" if age <= 7 else "> 7 days"
        for _, age, _ in open_tickets
    )
    order = ("< 1 day", "1-7 days", "> 7 days")
    texts: dict[str, str] = {}
    counts: Counter[str] = Counter()
    for item in unanswered:
        text = str(item.get("text", "")).strip()
        key = " ".join(fold(text).split())
        if key:
            texts.setdefault(key, text)
            counts[key] += 1
    return Stats(
        topics=topics,
        open_by_age=tuple((b, buckets[b]) for b in order),
        oldest_open=tuple(open_tickets[:OLDEST_SHOWN]),
        unanswered=tuple((texts[k], n) for k, n in counts.most_common(TOP_UNANSWERED)),
    )


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def format_stats(stats: Stats) -> str:
    """Plain text for ``python -m bot report``."""
    lines = [f"{'topic':<34} {'answers':>7} {'helpful':>8} {'escalations':>11}"]
    for t in stats.topics:
        lines.append(f"{t.topic:<34} {t.answers:>7} {_rate(t.helpful_rate):>8} {t.escalations:>11}")
    lines += ["", "open tickets by age: " + ", ".join(f"{b}: {n}" for b, n in stats.open_by_age)]
    lines += [f"  {tid}  {age:5.1f} days  {status}" for tid, age, status in stats.oldest_open]
    lines += ["", "most frequent unanswered questions:"]
    lines += [f"  {n:>3} x {text}" for text, n in stats.unanswered] or ["  none"]
    return "\n".join(lines)


def stats_card(stats: Stats, catalog: Catalog, lang: Lang) -> Card:
    """The same figures as a card for ``stats`` in the helpdesk channel."""
    rows = [
        {
            "title": (topic.title.get(lang) if (topic := catalog.topic(t.topic)) else t.topic),
            "value": f"{t.answers} / {_rate(t.helpful_rate)} / {t.escalations}",
        }
        for t in stats.topics
    ]
    body: list[dict[str, Any]] = [
        title_block(catalog.text("stats_title", lang)),
        text_block(catalog.text("stats_topics", lang), weight="Bolder"),
        {"type": "FactSet", "facts": rows},
        text_block(catalog.text("stats_open", lang), weight="Bolder"),
        {"type": "FactSet", "facts": [{"title": b, "value": str(n)} for b, n in stats.open_by_age]},
        text_block(catalog.text("stats_unanswered", lang), weight="Bolder"),
    ]
    if stats.unanswered:
        body.extend(literal(f"{n} x {text}") for text, n in stats.unanswered)
    else:
        body.append(text_block(catalog.text("stats_none", lang), isSubtle=True))
    return card_shell(body)
