"""Statistics events are written beside the turn, in batches, and never lost at shutdown."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.events import EventLog
from bot.store.base import Record
from bot.store.sqlite import SqliteStore


class CountingStore(SqliteStore):
    """The real SQLite store, counting how many batches reach it."""

    batches: list[int]

    async def add_events(self, events: list[tuple[str, Record]]) -> None:
        self.batches.append(len(events))
        await super().add_events(events)


async def test_events_of_one_moment_share_a_batch_and_drain_writes_them(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "bot.db")
    store.batches = []
    await store.open()
    log = EventLog(store)
    for n in range(40):
        log.record("answer", {"topic": f"t{n}"})
    assert store.batches == []  # nothing written inside the "turns"
    await log.drain()
    assert store.batches == [40]
    log.record("feedback", {"topic": "t", "helpful": True})
    await asyncio.sleep(0.2)
    assert store.batches == [40, 1]
    assert len(await store.list_events("answer")) == 40
    await store.close()


async def test_an_unreachable_store_costs_the_events_not_the_bot(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "bot.db")  # never opened: every write fails
    log = EventLog(store)
    log.record("answer", {"topic": "t"})
    await log.drain()  # logged and dropped, nothing raised
