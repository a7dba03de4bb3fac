"""Statistics for content authors and the helpdesk: the pure computation and ``bot report``."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.store.sqlite import SqliteStore
from intents.load import load_knowledge
from intents.stats import compute_stats, format_stats, stats_card

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_compute_stats_counts_per_topic_ages_and_unanswered() -> None:
    kb = load_knowledge()
    answers = [{"topic": "pcns-6025"}] * 3 + [{"topic": "slow-full-sync"}]
    feedback = [
        {"topic": "pcns-6025", "helpful": True},
        {"topic": "pcns-6025", "helpful": True},
        {"topic": "pcns-6025", "helpful": False},
    ]
    unanswered = [{"text": "Printer jam"}, {"text": "printer  JAM"}, {"text": "vpn"}]
    tickets = [
        {"id": "T-1", "topic": "pcns-6025", "status": "open", "created": "2026-11-26T06:00:00Z"},
        {"id": "T-2", "topic": None, "status": "assigned", "created": "2026-11-20T12:00:00Z"},
        {"id": "T-3", "topic": None, "status": "open", "created": "2026-10-01T12:00:00Z"},
        {"id": "T-4", "topic": None, "status": "resolved", "created": "2026-10-01T12:00:00Z"},
    ]
    stats = compute_stats(kb.catalog, answers, feedback, unanswered, tickets, NOW)
    pcns = next(t for t in stats.topics if t.topic == "pcns-6025")
    assert (pcns.answers, pcns.helpful, pcns.not_helpful, pcns.escalations) == (3, 2, 1, 1)
    assert pcns.helpful_rate is not None
    assert round(pcns.helpful_rate, 2) == 0.67
    assert dict(stats.open_by_age) == {"< 1 day": 1, "1-7 days": 1, "> 7 days": 1}
    assert [t for t, _, _ in stats.oldest_open] == ["T-3", "T-2", "T-1"]
    assert stats.unanswered[0] == ("Printer jam", 2)
    text = format_stats(stats)
    assert "pcns-6025" in text
    assert "67%" in text
    assert "2 x Printer jam" in text
    card = stats_card(stats, kb.catalog, "nb")
    assert card["body"][0]["text"] == kb.catalog.text("stats_title", "nb")


def test_bot_report_reads_the_configured_store(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"

    async def fill() -> None:
        store = SqliteStore(db)
        await store.open()
        await store.add_event("answer", {"topic": "slow-full-sync"})
        await store.add_event("feedback", {"topic": "slow-full-sync", "helpful": True})
        await store.add_event("unanswered", {"text": "how do I fix the coffee machine"})
        await store.close()

    asyncio.run(fill())
    env = {**os.environ, "SQLITE_PATH": str(db)}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "report"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("slow-full-sync"))
    assert line.split()[1:] == ["1", "100%", "0"]
    assert "1 x how do I fix the coffee machine" in proc.stdout
