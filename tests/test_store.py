"""One contract suite for every Store backend: SQLite on a temp file, Azure Tables on Azurite.

Where the backends differ the contract says so: Azure Tables refuse a record whose JSON is longer
than ``MAX_JSON_UNITS`` UTF-16 code units (``ValueError``, nothing written); SQLite stores it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ResourceModifiedError
from azure.data.tables.aio import TableClient
from azurite import Azurite, azurite_tables, connection_string, free_port

from bot.store.azure_table import MAX_JSON_UNITS, AzureTableStore, dumps
from bot.store.base import Record, Store, StoreUnavailable
from bot.store.sqlite import INSERT_CHUNK, SqliteStore

__all__ = ["azurite_tables"]  # the session fixture, imported for pytest to find

OpenStore = Callable[[], Awaitable[Store]]


@dataclass(frozen=True)
class Backend:
    name: str
    make: Callable[[], Store]  # a new, unopened instance on the same storage: another replica


@pytest.fixture(params=["sqlite", "azure"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        path = tmp_path / "store.db"
        return Backend("sqlite", lambda: SqliteStore(path))
    azurite: Azurite = request.getfixturevalue("azurite_tables")
    prefix = f"t{uuid.uuid4().hex[:12]}"
    return Backend("azure", lambda: AzureTableStore(azurite.connection_string, prefix))


@pytest.fixture
async def open_store(backend: Backend) -> AsyncIterator[OpenStore]:
    """Opens one more instance of the backend per call; all are closed after the test."""
    opened: list[Store] = []

    async def open_one() -> Store:
        store = backend.make()
        await store.open()
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        await store.close()


@pytest.fixture
async def store(open_store: OpenStore) -> Store:
    return await open_store()


def ticket(ticket_id: str, **fields: object) -> Record:
    return {"id": ticket_id, "status": "open", "created": "2025-01-01T00:00:00Z", **fields}


async def test_ping_answers_only_when_open(backend: Backend, store: Store) -> None:
    assert await store.ping() is True
    unopened = backend.make()
    assert await unopened.ping() is False
    with pytest.raises(StoreUnavailable):
        await unopened.get_ticket("T1")


async def test_settings_round_trip_and_overwrite(store: Store) -> None:
    assert await store.get_setting("escalation") is None
    await store.put_setting("escalation", {"email": "help@example.com", "n": 1})
    assert await store.get_setting("escalation") == {"email": "help@example.com", "n": 1}
    await store.put_setting("escalation", {"email": "desk@example.com"})
    assert await store.get_setting("escalation") == {"email": "desk@example.com"}


async def test_add_ticket_creates_once(store: Store) -> None:
    original = ticket("T1", title="6025 on DC01")
    assert await store.add_ticket(original) == (original, True)
    again = await store.add_ticket(ticket("T1", title="something else", status="closed"))
    assert again == (original, False)
    assert await store.get_ticket("T1") == original


async def test_get_missing_ticket_is_none(store: Store) -> None:
    assert await store.get_ticket("nope") is None


async def test_update_ticket(store: Store) -> None:
    await store.add_ticket(ticket("T1", history=[]))

    def close(record: Record) -> Record:
        return {**record, "status": "closed", "history": [*record["history"], "closed"]}

    closed = ticket("T1", status="closed", history=["closed"])
    assert await store.update_ticket("T1", close) == (closed, True)
    assert await store.get_ticket("T1") == closed
    assert await store.update_ticket("T1", lambda record: None) == (closed, False)
    assert await store.get_ticket("T1") == closed


async def test_update_missing_ticket_is_none_without_calling_change(store: Store) -> None:
    def never(record: Record) -> Record:
        raise AssertionError("change called for a missing ticket")

    assert await store.update_ticket("nope", never) is None


async def test_list_tickets_by_status_in_created_order(store: Store) -> None:
    await store.add_ticket(ticket("T3", created="2025-01-03T00:00:00Z"))
    await store.add_ticket(ticket("T1", created="2025-01-01T00:00:00Z", status="closed"))
    await store.add_ticket(ticket("T2", created="2025-01-02T00:00:00Z"))
    assert [t["id"] for t in await store.list_tickets()] == ["T1", "T2", "T3"]
    assert [t["id"] for t in await store.list_tickets("open")] == ["T2", "T3"]
    assert [t["id"] for t in await store.list_tickets("closed")] == ["T1"]
    assert await store.list_tickets("it's quoted") == []
    await store.update_ticket("T2", lambda record: {**record, "status": "closed"})
    assert [t["id"] for t in await store.list_tickets("closed")] == ["T1", "T2"]


async def test_events_append_in_order_with_unique_ids(store: Store) -> None:
    given = {"intent": "pcns-6025", "score": 0.91}
    for n in range(5):
        await store.add_event("answer", {"n": n})
    await store.add_event("feedback", given)
    await store.add_event("feedback", {"at": "2025-01-01T00:00:00Z", "helpful": False})

    answers = await store.list_events("answer")
    assert [e["n"] for e in answers] == [0, 1, 2, 3, 4]
    assert len({e["event_id"] for e in answers}) == 5
    assert all(isinstance(e["at"], str) for e in answers)
    feedback = await store.list_events("feedback")
    assert [e["at"] for e in feedback][1] == "2025-01-01T00:00:00Z"
    assert given == {"intent": "pcns-6025", "score": 0.91}  # the caller's dict is not touched
    assert await store.list_events("escalation") == []
    with pytest.raises(ValueError, match="unknown event kind"):
        await store.add_event("gossip", {})


async def test_records_are_plain_copies(store: Store) -> None:
    setting: Record = {"names": ["a"]}
    await store.put_setting("s", setting)
    setting["names"].append("changed after put")
    got = await store.get_setting("s")
    assert got == {"names": ["a"]}
    assert got is not None
    got["names"].append("changed after get")
    assert await store.get_setting("s") == {"names": ["a"]}

    record = ticket("T1", history=[])
    added, _ = await store.add_ticket(record)
    record["history"].append("x")
    added["history"].append("y")
    updated = await store.update_ticket("T1", lambda r: {**r, "n": 1})
    assert updated is not None
    updated[0]["history"].append("z")
    for listed in await store.list_tickets():
        listed["history"].append("w")
    assert await store.get_ticket("T1") == ticket("T1", history=[], n=1)

    await store.add_event("answer", {"tags": ["a"]})
    (event,) = await store.list_events("answer")
    event["tags"].append("b")
    assert [e["tags"] for e in await store.list_events("answer")] == [["a"]]


async def test_unicode_survives_in_values_and_keys(store: Store) -> None:
    text = "Synkronisering feiler på æøå-brukere 😀 — ÆØÅ 🚀 \u0000 tab\there"
    ticket_id = "sak/æøå#1?😀%2F"
    await store.add_ticket(ticket(ticket_id, text=text))
    await store.add_ticket(ticket("sak%2Fæøå#1?😀%2F", text="a different key"))
    assert await store.get_ticket(ticket_id) == ticket(ticket_id, text=text)
    await store.put_setting("språk/🇳🇴", {"text": text})
    assert await store.get_setting("språk/🇳🇴") == {"text": text}
    await store.add_event("unanswered", {"text": text})
    assert (await store.list_events("unanswered"))[0]["text"] == text


def sized_ticket(ticket_id: str, units: int) -> Record:
    """A ticket whose compact JSON is exactly ``units`` UTF-16 code units long."""
    record = ticket(ticket_id, text="")
    record["text"] = "x" * (units - len(dumps(record)))
    return record


async def test_size_limit(backend: Backend, store: Store) -> None:
    at_limit = sized_ticket("T1", MAX_JSON_UNITS)
    assert await store.add_ticket(at_limit) == (at_limit, True)
    too_big = sized_ticket("T2", MAX_JSON_UNITS + 1)
    # An emoji is two UTF-16 code units: 16,400 of them exceed the limit in half the characters.
    emoji = ticket("T3", text="😀" * 16_400)
    if backend.name == "sqlite":
        assert await store.add_ticket(too_big) == (too_big, True)
        assert await store.add_ticket(emoji) == (emoji, True)
        return
    for record in (too_big, emoji):
        with pytest.raises(ValueError, match="too large for the Azure Table store"):
            await store.add_ticket(record)
        assert await store.get_ticket(record["id"]) is None
    with pytest.raises(ValueError, match="too large"):
        await store.put_setting("big", {"text": "x" * MAX_JSON_UNITS})
    with pytest.raises(ValueError, match="too large"):
        await store.update_ticket("T1", lambda record: {**record, "more": "x"})
    assert await store.get_ticket("T1") == at_limit


async def test_concurrent_updates_lose_nothing(open_store: OpenStore) -> None:
    replicas = [await open_store(), await open_store()]
    await replicas[0].add_ticket(ticket("T1", history=[]))

    def append(item: int) -> Callable[[Record], Record]:
        return lambda record: {**record, "history": [*record["history"], item]}

    results = await asyncio.gather(
        *(replicas[n % 2].update_ticket("T1", append(n)) for n in range(50))
    )
    assert all(result is not None and result[1] for result in results)
    final = await replicas[1].get_ticket("T1")
    assert final is not None
    assert sorted(final["history"]) == list(range(50))


async def test_concurrent_adds_create_exactly_once(open_store: OpenStore) -> None:
    replicas = [await open_store(), await open_store()]
    results = await asyncio.gather(
        *(replicas[n % 2].add_ticket(ticket("T1", by=n)) for n in range(30))
    )
    assert [created for _, created in results].count(True) == 1
    winner = next(record for record, created in results if created)
    assert all(record == winner for record, _ in results)
    assert await replicas[0].get_ticket("T1") == winner


async def test_azure_unreachable_fails_fast() -> None:
    store = AzureTableStore(connection_string(free_port()), "unreachable")
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="creating tables failed"):
        await store.open()
    assert time.monotonic() - started < 5
    assert await store.ping() is False


async def test_azure_outage_and_recovery(tmp_path: Path) -> None:
    with Azurite(tmp_path) as azurite:
        store = AzureTableStore(azurite.connection_string, "outage", retry_total=1)
        await store.open()
        try:
            await store.add_ticket(ticket("T1"))
            azurite.stop()
            started = time.monotonic()
            assert await store.ping() is False
            calls: list[Callable[[], Awaitable[object]]] = [
                lambda: store.get_ticket("T1"),
                lambda: store.add_ticket(ticket("T2")),
                lambda: store.update_ticket("T1", lambda record: {**record, "status": "closed"}),
                lambda: store.list_tickets("open"),
                lambda: store.put_setting("s", {}),
                lambda: store.add_event("answer", {}),
                lambda: store.list_events("answer"),
            ]
            for call in calls:
                with pytest.raises(StoreUnavailable):
                    await call()
            assert time.monotonic() - started < 5
            azurite.start()
            assert await store.ping() is True
            assert await store.get_ticket("T1") == ticket("T1")
        finally:
            await store.close()


async def test_azure_update_whose_answer_was_lost_is_applied_once(
    azurite_tables: Azurite, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The SDK retries a PUT whose response was lost; the retry's 412 is for the write itself.
    real_update = TableClient.update_entity

    async def lose_first_answer(self: TableClient, *args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(TableClient, "update_entity", real_update)
        await real_update(self, *args, **kwargs)
        raise ResourceModifiedError("412 for the retry of a PUT that was applied")

    store = AzureTableStore(azurite_tables.connection_string, f"t{uuid.uuid4().hex[:12]}")
    await store.open()
    try:
        await store.add_ticket(ticket("T1", history=[]))
        monkeypatch.setattr(TableClient, "update_entity", lose_first_answer)
        result = await store.update_ticket("T1", lambda r: {**r, "history": [*r["history"], 1]})
        assert result == (ticket("T1", history=[1]), True)
        assert await store.get_ticket("T1") == ticket("T1", history=[1])
    finally:
        await store.close()


def test_azure_table_prefix_is_validated() -> None:
    with pytest.raises(ValueError, match="table prefix"):
        AzureTableStore("UseDevelopmentStorage=true", "no-dashes")


async def test_a_batch_of_events_lands_whole_and_in_order(store: Store) -> None:
    batch = [("answer", {"topic": f"t{n}"}) for n in range(25)] + [("unanswered", {"text": "x"})]
    await store.add_events(batch)
    answers = await store.list_events("answer")
    assert [e["topic"] for e in answers] == [f"t{n}" for n in range(25)]
    assert len({e["event_id"] for e in answers}) == 25
    assert [e["text"] for e in await store.list_events("unanswered")] == ["x"]


async def test_a_batch_larger_than_one_insert_lands_whole_and_in_order(tmp_path: Path) -> None:
    # SQLite writes a batch as multi-row INSERTs of INSERT_CHUNK events each.
    store = SqliteStore(tmp_path / "bot.db")
    await store.open()
    try:
        size = 2 * INSERT_CHUNK + 37
        await store.add_events([("answer", {"topic": f"t{n}", "n": n}) for n in range(size)])
        answers = await store.list_events("answer")
        assert [e["n"] for e in answers] == list(range(size))
        assert len({e["event_id"] for e in answers}) == size
        assert all(e["topic"] == f"t{e['n']}" and e["at"].endswith("Z") for e in answers)
    finally:
        await store.close()


async def test_a_batch_with_an_unknown_kind_writes_nothing(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown event kind"):
        await store.add_events([("answer", {"topic": "a"}), ("gossip", {})])
    assert await store.list_events("answer") == []
