"""The cloud store: Azure Table Storage (or Cosmos DB's Table API) through azure-data-tables.

Three tables, ``{prefix}settings``, ``{prefix}tickets`` and ``{prefix}events``. Every record is
one JSON string property ``json``; tickets also carry ``status`` and ``created`` so that
``list_tickets`` filters on the server, and events are partitioned by kind with time-ordered row
keys. Azure limits a string property to 64 KiB of UTF-16, so a record whose JSON is longer than
``MAX_JSON_UNITS`` UTF-16 code units (about 32,000 characters) is refused with ``ValueError``
before anything is sent. Keys are escaped (``%XX``) where Azure forbids characters in them.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableEntity, UpdateMode
from azure.data.tables.aio import TableClient, TableServiceClient

from bot.store.base import EVENT_KINDS, Change, Record, StoreUnavailable, now_iso

MAX_JSON_UNITS = 32_768  # 64 KiB of UTF-16: the largest string property Azure Tables accept
MAX_KEY_UNITS = 512  # PartitionKey and RowKey: 1 KiB of UTF-16
MAX_ATTEMPTS = 20
SETTINGS, TICKETS, EVENTS = "settings", "tickets", "events"
# Settings and tickets each live in one partition: a helpdesk has hundreds, not millions.
SETTING_PARTITION, TICKET_PARTITION = "setting", "ticket"
PREFIX_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9]{0,54}")
# Azure forbids / \ # ? and control characters in keys; % is escaped so the mapping is one-to-one.
KEY_ESCAPES = {
    code: f"%{code:02X}" for code in [*range(0x20), *range(0x7F, 0xA0), *map(ord, "%/\\#?")]
}
Entity = dict[str, Any]


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def table_key(value: str) -> str:
    """The PartitionKey/RowKey for ``value``; ValueError if Azure cannot hold it."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"a store key must be a non-empty string, not {value!r}")
    key = value.translate(KEY_ESCAPES)
    if utf16_units(key) > MAX_KEY_UNITS:
        raise ValueError(f"store key is too long for Azure Tables ({utf16_units(key)} > 512)")
    return key


def dumps(record: Record) -> str:
    """The record as compact JSON; ValueError if it does not fit one Azure string property."""
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    units = utf16_units(text)
    if units > MAX_JSON_UNITS:
        raise ValueError(
            f"record is too large for the Azure Table store: {units} UTF-16 code units as JSON, "
            f"at most {MAX_JSON_UNITS}"
        )
    return text


def loads(entity: Entity) -> Record:
    record: Record = json.loads(entity["json"])
    return record


def text_property(value: Any, default: str) -> str:
    return value if isinstance(value, str) else default


@contextmanager
def azure_errors(what: str, *expected: type[AzureError]) -> Iterator[None]:
    """Turn every Azure failure except ``expected`` into StoreUnavailable."""
    try:
        yield
    except expected:
        raise
    except AzureError as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StoreUnavailable(f"Azure Table store: {what} failed: {detail}") from exc


def backoff(attempt: int) -> float:
    # Full jitter: concurrent writers that lost the same race spread out instead of colliding again.
    return random.uniform(0, min(0.5, 0.01 * 2**attempt))


class AzureTableStore:
    """The Store protocol on Azure Tables; safe for several replicas sharing one account.

    ``retry_total``, ``retry_backoff_factor``, ``connection_timeout`` and ``read_timeout`` go to
    the Azure client: the defaults make an unreachable service raise StoreUnavailable within a
    few seconds instead of the SDK's minutes.
    """

    def __init__(
        self,
        connection_string: str,
        table_prefix: str = "mimbot",
        *,
        retry_total: int = 2,
        retry_backoff_factor: float = 0.4,
        connection_timeout: float = 3.0,
        read_timeout: float = 10.0,
    ) -> None:
        if not PREFIX_PATTERN.fullmatch(table_prefix):
            raise ValueError(
                f"table prefix {table_prefix!r} must be 1-55 letters and digits, "
                "starting with a letter"
            )
        self._connection_string = connection_string
        self._prefix = table_prefix
        self._client_options: dict[str, Any] = {
            "retry_total": retry_total,
            "retry_backoff_factor": retry_backoff_factor,
            "connection_timeout": connection_timeout,
            "read_timeout": read_timeout,
        }
        self._service: TableServiceClient | None = None
        self._tables: dict[str, TableClient] = {}
        self._last_event_ns = 0
        # Updates of one ticket queue up inside a replica, so etag conflicts only come from others.
        self._ticket_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    async def open(self) -> None:
        if self._service is not None:
            return
        service = TableServiceClient.from_connection_string(
            self._connection_string, **self._client_options
        )
        names = (SETTINGS, TICKETS, EVENTS)
        try:
            with azure_errors("creating tables"):
                for name in names:
                    await service.create_table_if_not_exists(self._prefix + name)
        except BaseException:
            await service.close()
            raise
        self._service = service
        self._tables = {name: service.get_table_client(self._prefix + name) for name in names}

    async def close(self) -> None:
        service, self._service, self._tables = self._service, None, {}
        if service is not None:
            await service.close()

    def _table(self, name: str) -> TableClient:
        if self._service is None:
            raise StoreUnavailable("store is not open")
        return self._tables[name]

    async def ping(self) -> bool:
        if self._service is None:
            return False
        try:
            pager = self._tables[SETTINGS].query_entities(
                "PartitionKey eq @pk",
                parameters={"pk": SETTING_PARTITION},
                results_per_page=1,
                select=["RowKey"],
                retry_total=0,
            )
            async for _ in pager:
                break
        except Exception:  # ping reports, it never raises
            return False
        return True

    async def _get(self, name: str, partition: str, row: str) -> TableEntity | None:
        try:
            with azure_errors(f"reading {name}", ResourceNotFoundError):
                return await self._table(name).get_entity(partition, row)
        except ResourceNotFoundError as exc:
            if getattr(exc, "error_code", None) == "TableNotFound":  # set by azure-data-tables
                raise StoreUnavailable(f"Azure Table store: table {name} is missing") from exc
            return None

    async def _query(self, name: str, query: str, parameters: dict[str, str]) -> list[TableEntity]:
        with azure_errors(f"querying {name}"):
            pager = self._table(name).query_entities(query, parameters=parameters)
            return [entity async for entity in pager]

    async def get_setting(self, key: str) -> Record | None:
        entity = await self._get(SETTINGS, SETTING_PARTITION, table_key(key))
        return None if entity is None else loads(entity)

    async def put_setting(self, key: str, value: Record) -> None:
        entity = {"PartitionKey": SETTING_PARTITION, "RowKey": table_key(key), "json": dumps(value)}
        with azure_errors("writing a setting"):
            await self._table(SETTINGS).upsert_entity(entity, mode=UpdateMode.REPLACE)

    def _ticket_entity(self, ticket_id: str, text: str, record: Record, created: str) -> Entity:
        return {
            "PartitionKey": TICKET_PARTITION,
            "RowKey": table_key(ticket_id),
            "json": text,
            "status": text_property(record.get("status"), ""),
            "created": created,
        }

    async def add_ticket(self, record: Record) -> tuple[Record, bool]:
        ticket_id = record.get("id")
        if not isinstance(ticket_id, str):
            raise ValueError(f"a ticket needs a string 'id', not {ticket_id!r}")
        text = dumps(record)
        created = text_property(record.get("created"), now_iso())
        try:
            with azure_errors("adding a ticket", ResourceExistsError):
                await self._table(TICKETS).create_entity(
                    self._ticket_entity(ticket_id, text, record, created)
                )
        except ResourceExistsError:
            existing = await self._get(TICKETS, TICKET_PARTITION, table_key(ticket_id))
            if existing is None:  # tickets are never deleted; only a broken table gets here
                raise StoreUnavailable(f"ticket {ticket_id} exists but cannot be read") from None
            return loads(existing), False
        return json.loads(text), True

    async def get_ticket(self, ticket_id: str) -> Record | None:
        entity = await self._get(TICKETS, TICKET_PARTITION, table_key(ticket_id))
        return None if entity is None else loads(entity)

    async def update_ticket(self, ticket_id: str, change: Change) -> tuple[Record, bool] | None:
        lock = self._ticket_locks.get(ticket_id)
        if lock is None:
            lock = self._ticket_locks[ticket_id] = asyncio.Lock()
        async with lock:
            return await self._update_ticket(ticket_id, change)

    async def _update_ticket(self, ticket_id: str, change: Change) -> tuple[Record, bool] | None:
        sent: str | None = None
        for attempt in range(MAX_ATTEMPTS):
            entity = await self._get(TICKETS, TICKET_PARTITION, table_key(ticket_id))
            if entity is None:
                return None
            if sent is not None and entity.get("writer") == sent:
                # The SDK re-sent a PUT whose answer was lost: the 412 was for our own write.
                # Compared by a per-write nonce, not by content: two replicas making the same
                # change in the same second write identical records, and only one of them won.
                return loads(entity), True
            new = change(loads(entity))
            if new is None:
                return loads(entity), False
            text = dumps(new)
            sent = uuid.uuid4().hex
            created = text_property(entity.get("created"), now_iso())
            try:
                with azure_errors("updating a ticket", ResourceModifiedError):
                    await self._table(TICKETS).update_entity(
                        {**self._ticket_entity(ticket_id, text, new, created), "writer": sent},
                        mode=UpdateMode.REPLACE,
                        etag=entity.metadata["etag"],
                        match_condition=MatchConditions.IfNotModified,
                    )
            except ResourceModifiedError:
                await asyncio.sleep(backoff(attempt))
                continue
            return json.loads(text), True
        raise StoreUnavailable(f"ticket {ticket_id}: too much contention, gave up")

    async def list_tickets(self, status: str | None = None) -> list[Record]:
        query, parameters = "PartitionKey eq @pk", {"pk": TICKET_PARTITION}
        if status is not None:
            query, parameters = f"{query} and status eq @status", {**parameters, "status": status}
        entities = await self._query(TICKETS, query, parameters)
        records = [(text_property(e.get("created"), ""), loads(e)) for e in entities]
        records.sort(key=lambda pair: (pair[0], str(pair[1].get("id", ""))))
        return [record for _, record in records]

    def _event_id(self) -> str:
        # Strictly increasing within a replica even when the clock repeats a value.
        self._last_event_ns = max(time.time_ns(), self._last_event_ns + 1)
        return f"{self._last_event_ns:020d}-{uuid.uuid4().hex[:8]}"

    async def add_event(self, kind: str, record: Record) -> None:
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind '{kind}'")
        stored = {"at": now_iso(), **record}
        entity = {
            "PartitionKey": kind,
            "RowKey": self._event_id(),
            "json": dumps(stored),
            "at": text_property(stored["at"], ""),
        }
        with azure_errors("adding an event"):
            await self._table(EVENTS).create_entity(entity)

    async def add_events(self, events: list[tuple[str, Record]]) -> None:
        # Entity group transactions need one partition (kind); events are few per batch, so
        # one insert each keeps this simple. Kinds are checked first: a bad batch writes nothing.
        for kind, _ in events:
            if kind not in EVENT_KINDS:
                raise ValueError(f"unknown event kind '{kind}'")
        for kind, record in events:
            await self.add_event(kind, record)

    async def list_events(self, kind: str) -> list[Record]:
        entities = await self._query(EVENTS, "PartitionKey eq @kind", {"kind": kind})
        entities.sort(key=lambda e: str(e["RowKey"]))
        return [{**loads(e), "event_id": e["RowKey"]} for e in entities]
