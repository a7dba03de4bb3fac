"""Statistics events are written beside the turn, in batches, and never lost at shutdown."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.events import FLUSH_DELAY_S, MAX_BATCH, EventLog
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


async def test_a_steady_stream_of_events_is_still_written_in_batches(tmp_path: Path) -> None:
    # Under load events keep arriving while a batch is being written. Going straight back for
    # them wrote a batch of one or two per store round trip (a thread hand-off each, which the
    # event loop pays for); each write waits for the moment's turns instead.
    store = CountingStore(tmp_path / "bot.db")
    store.batches = []
    await store.open()
    log = EventLog(store)
    loop = asyncio.get_running_loop()
    started = loop.time()
    sent = 0
    while loop.time() - started < 0.6:
        log.record("answer", {"topic": f"t{sent}"})
        sent += 1
        await asyncio.sleep(0.002)
    await log.drain()
    elapsed = loop.time() - started
    assert sum(store.batches) == sent
    assert len(await store.list_events("answer")) == sent
    assert len(store.batches) <= elapsed / FLUSH_DELAY_S + 1, (sent, store.batches)
    await store.close()


async def test_a_burst_larger_than_a_batch_is_written_in_full_batches(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "bot.db")
    store.batches = []
    await store.open()
    log = EventLog(store)
    for n in range(2 * MAX_BATCH + 50):
        log.record("answer", {"topic": f"t{n}"})
    await log.drain()
    assert store.batches == [MAX_BATCH, MAX_BATCH, 50]
    await store.close()


async def test_an_unreachable_store_costs_the_events_not_the_bot(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "bot.db")  # never opened: every write fails
    log = EventLog(store)
    log.record("answer", {"topic": "t"})
    await log.drain()  # logged and dropped, nothing raised
