"""Score the matcher on labelled YAML (topic id -> phrasings, plus ``none`` for off-topic text)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from intents.matcher import Index, Match, match

NONE = "none"
NEAR_MISS_MARGIN = 20.0


@dataclass(frozen=True)
class Item:
    text: str
    expected: str  # a topic id, or "none"
    found: Match

    @property
    def credit(self) -> float:
        """1 for the right answer, 0.5 for a clarify that offers it, else 0."""
        if self.found.outcome == "answer":
            return 1.0 if self.found.intent == self.expected else 0.0
        if self.found.outcome == "clarify":
            return 0.5 if any(c.intent == self.expected for c in self.found.candidates) else 0.0
        return 0.0

    @property
    def margin(self) -> float:
        cands = self.found.candidates
        return cands[0].score - cands[1].score if len(cands) > 1 else cands[0].score


@dataclass(frozen=True)
class Report:
    items: tuple[Item, ...]
    topics: tuple[str, ...]
    per_topic: Mapping[str, tuple[float, float, int]] = field(default_factory=dict)

    @property
    def in_scope(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.expected != NONE)

    @property
    def off_topic(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.expected == NONE)

    @property
    def score(self) -> float:
        """Mean credit over in-scope phrasings (answer 1, clarify offering it 0.5)."""
        scope = self.in_scope
        return sum(i.credit for i in scope) / len(scope) if scope else 1.0

    @property
    def strict_top1(self) -> float:
        """Share of in-scope phrasings answered with the right topic outright."""
        scope = self.in_scope
        return sum(i.credit == 1.0 for i in scope) / len(scope) if scope else 1.0

    @property
    def rejection(self) -> float:
        """Share of off-topic phrasings that got no answer card."""
        off = self.off_topic
        return sum(i.found.outcome != "answer" for i in off) / len(off) if off else 1.0

    @property
    def fallback_rate(self) -> float:
        off = self.off_topic
        return sum(i.found.outcome == "fallback" for i in off) / len(off) if off else 1.0

    def confusions(self) -> list[tuple[tuple[str, str], int]]:
        pairs = Counter(
            (i.expected, i.found.intent or "?")
            for i in self.items
            if i.found.outcome == "answer" and i.found.intent != i.expected
        )
        return pairs.most_common()

    def near_misses(self) -> list[Item]:
        return [
            i
            for i in self.in_scope
            if i.credit == 1.0 and not i.found.entity and i.margin < NEAR_MISS_MARGIN
        ]

    def misses(self) -> list[Item]:
        return [i for i in self.items if i.credit < 1.0 and i.expected != NONE] + [
            i for i in self.off_topic if i.found.outcome == "answer"
        ]


def load_labelled(paths: Iterable[Path]) -> list[tuple[str, str]]:
    """(text, expected) pairs from labelled YAML files."""
    pairs: list[tuple[str, str]] = []
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping of topic id to phrasings")
        for topic, texts in data.items():
            if not isinstance(texts, list):
                raise ValueError(f"{path}: '{topic}' must map to a list")
            pairs.extend((str(text), str(topic)) for text in texts)
    return pairs


def evaluate(index: Index, pairs: Iterable[tuple[str, str]]) -> Report:
    items = tuple(Item(text, expected, match(index, text)) for text, expected in pairs)
    per_topic: dict[str, tuple[float, float, int]] = {}
    for topic in index.topic_ids:
        truth = [i for i in items if i.expected == topic]
        answered = [i for i in items if i.found.outcome == "answer" and i.found.intent == topic]
        right = sum(1 for i in answered if i.expected == topic)
        precision = right / len(answered) if answered else 1.0
        recall = sum(i.credit for i in truth) / len(truth) if truth else 1.0
        per_topic[topic] = (precision, recall, len(truth))
    return Report(items, index.topic_ids, per_topic)


def format_report(report: Report, show: int = 25) -> str:
    lines = [f"{'topic':<34} {'n':>4} {'precision':>9} {'recall':>7}"]
    for topic, (precision, recall, n) in report.per_topic.items():
        lines.append(f"{topic:<34} {n:>4} {precision:>9.1%} {recall:>7.1%}")
    off = report.off_topic
    lines += [
        "",
        f"in-scope phrasings: {len(report.in_scope)}   off-topic phrasings: {len(off)}",
        f"score (answer 1, clarify 0.5): {report.score:.1%}",
        f"strict top-1 (answered right): {report.strict_top1:.1%}",
        f"off-topic rejection (no answer card): {report.rejection:.1%}"
        f"   (of which fallback: {report.fallback_rate:.1%})",
        "",
        "confusion pairs (expected -> answered):",
    ]
    lines += [f"  {a} -> {b}: {n}" for (a, b), n in report.confusions()[:show]] or ["  none"]
    lines.append(f"near misses (right answer, margin < {NEAR_MISS_MARGIN:.0f}):")
    lines += [
        f"  {i.expected:<32} margin {i.margin:5.1f}  {i.text[:70]!r}"
        for i in report.near_misses()[:show]
    ] or ["  none"]
    lines.append("misses:")
    lines += [
        f"  {i.expected:<32} got {i.found.outcome}:{i.found.intent or '-'}"
        f" {i.found.score:5.1f}  {i.text[:70]!r}"
        for i in report.misses()[: show * 4]
    ] or ["  none"]
    return "\n".join(lines)
