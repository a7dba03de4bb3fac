"""The embedded default store: one SQLite file, survives restarts, safe across processes.

sqlite3 is synchronous, so every call runs in a single worker thread per store; the event loop
never blocks on disk. Updates compare a version column, the same optimistic concurrency the
Azure backend gets from etags, so two processes sharing the file never lose a change.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from bot.store.base import EVENT_KINDS, Change, Record, StoreUnavailable, now_iso

T = TypeVar("T")
MAX_ATTEMPTS = 50
INSERT_CHUNK = 200  # events per INSERT: 800 parameters, far below SQLite's limit of 32766
SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tickets (
    id TEXT PRIMARY KEY, status TEXT NOT NULL, created TEXT NOT NULL,
    version INTEGER NOT NULL, json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS tickets_status ON tickets (status);
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, at TEXT NOT NULL, json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_kind ON events (kind, id);
"""


class SqliteStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        # Event ids: time, then this store's id and a counter; unique across processes.
        self._writer = uuid.uuid4().hex[:8]
        self._sequence = itertools.count()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-store")

    async def _run(self, fn: Any, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, fn, *args)
        except RuntimeError as exc:  # the worker is gone: the store was closed
            raise StoreUnavailable(f"SQLite store {self.path} is closed") from exc
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(f"SQLite store {self.path}: {exc}") from exc

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreUnavailable("store is not open")
        return self._db

    async def open(self) -> None:
        def connect() -> None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=10000")
            # With WAL, NORMAL is safe against the process crashing; only an OS crash or power
            # loss can drop the last commits. FULL paid an fsync per statistics event.
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
            self._db = db

        await self._run(connect)

    async def close(self) -> None:
        def close() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None

        await self._run(close)
        self._pool.shutdown(wait=True)

    async def ping(self) -> bool:
        try:
            await self._run(lambda: self._conn().execute("SELECT 1").fetchone())
        except (StoreUnavailable, sqlite3.Error):
            return False
        return True

    async def get_setting(self, key: str) -> Record | None:
        def get() -> Record | None:
            row = self._conn().execute("SELECT json FROM settings WHERE key=?", (key,)).fetchone()
            return json.loads(row[0]) if row else None

        result: Record | None = await self._run(get)
        return result

    async def put_setting(self, key: str, value: Record) -> None:
        text = json.dumps(value, ensure_ascii=False)
        await self._run(
            lambda: self._conn().execute(
                "INSERT INTO settings (key, json) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET json=excluded.json",
                (key, text),
            )
        )

    async def add_ticket(self, record: Record) -> tuple[Record, bool]:
        def add() -> tuple[Record, bool]:
            db = self._conn()
            cur = db.execute(
                "INSERT OR IGNORE INTO tickets (id, status, created, version, json) "
                "VALUES (?, ?, ?, 0, ?)",
                (
                    record["id"],
                    record.get("status", ""),
                    record.get("created", now_iso()),
                    json.dumps(record, ensure_ascii=False),
                ),
            )
            if cur.rowcount == 1:
                return json.loads(json.dumps(record)), True
            row = db.execute("SELECT json FROM tickets WHERE id=?", (record["id"],)).fetchone()
            return json.loads(row[0]), False

        result: tuple[Record, bool] = await self._run(add)
        return result

    async def get_ticket(self, ticket_id: str) -> Record | None:
        def get() -> Record | None:
            row = (
                self._conn().execute("SELECT json FROM tickets WHERE id=?", (ticket_id,)).fetchone()
            )
            return json.loads(row[0]) if row else None

        result: Record | None = await self._run(get)
        return result

    def _read_versioned(self, ticket_id: str) -> tuple[str, int] | None:
        row = (
            self._conn()
            .execute("SELECT json, version FROM tickets WHERE id=?", (ticket_id,))
            .fetchone()
        )
        return (row[0], row[1]) if row else None

    def _write_if(self, ticket_id: str, text: str, status: str, version: int) -> bool:
        cur = self._conn().execute(
            "UPDATE tickets SET json=?, status=?, version=version+1 WHERE id=? AND version=?",
            (text, status, ticket_id, version),
        )
        return cur.rowcount == 1

    async def update_ticket(self, ticket_id: str, change: Change) -> tuple[Record, bool] | None:
        for _ in range(MAX_ATTEMPTS):
            found = await self._run(self._read_versioned, ticket_id)
            if found is None:
                return None
            text, version = found
            new = change(json.loads(text))
            if new is None:
                return json.loads(text), False
            new_text = json.dumps(new, ensure_ascii=False)
            status = str(new.get("status", ""))
            if await self._run(self._write_if, ticket_id, new_text, status, version):
                return json.loads(new_text), True
        raise StoreUnavailable(f"ticket {ticket_id}: too much contention, gave up")

    async def list_tickets(self, status: str | None = None) -> list[Record]:
        def query() -> list[Record]:
            db = self._conn()
            if status is None:
                rows = db.execute("SELECT json FROM tickets ORDER BY created, id").fetchall()
            else:
                rows = db.execute(
                    "SELECT json FROM tickets WHERE status=? ORDER BY created, id", (status,)
                ).fetchall()
            return [json.loads(r[0]) for r in rows]

        result: list[Record] = await self._run(query)
        return result

    async def add_event(self, kind: str, record: Record) -> None:
        await self.add_events([(kind, record)])

    async def add_events(self, events: list[tuple[str, Record]]) -> None:
        rows: list[str] = []
        at = now_iso()  # to the second: one batch is one moment
        for kind, record in events:
            if kind not in EVENT_KINDS:
                raise ValueError(f"unknown event kind '{kind}'")
            stored = {"at": at, **record}
            event_id = f"{time.time_ns():020d}-{self._writer}-{next(self._sequence):08d}"
            rows += (event_id, kind, at, json.dumps(stored, ensure_ascii=False))

        def insert() -> None:
            db = self._conn()
            with db:  # one transaction for the batch: one commit, not one per event
                db.execute("BEGIN")
                # One statement per chunk, not one per row: sqlite3 lets go of the GIL for
                # every statement it steps, and each time the event loop must hand it back.
                for start in range(0, len(rows), 4 * INSERT_CHUNK):
                    chunk = rows[start : start + 4 * INSERT_CHUNK]
                    values = ", ".join(["(?, ?, ?, ?)"] * (len(chunk) // 4))
                    db.execute(f"INSERT INTO events (id, kind, at, json) VALUES {values}", chunk)

        await self._run(insert)

    async def list_events(self, kind: str) -> list[Record]:
        def query() -> list[Record]:
            rows = (
                self._conn()
                .execute("SELECT id, json FROM events WHERE kind=? ORDER BY id", (kind,))
                .fetchall()
            )
            return [{**json.loads(r[1]), "event_id": r[0]} for r in rows]

        result: list[Record] = await self._run(query)
        return result
