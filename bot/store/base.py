"""The store contract: plain JSON records for tickets, settings and append-only events.

Every backend keeps these promises (tests/test_store.py runs one contract suite against each):
- ``add_ticket`` inserts only if no ticket has that id and says whether it did; two replicas
  adding the same id at once end with one ticket and exactly one ``True``.
- ``update_ticket`` applies ``change`` to the current record and writes it only if nobody wrote
  in between (etag/version check), re-reading and re-applying on conflict; no change is lost.
- Events are never updated, only appended; each gets a unique id.
- Records go in and come out as plain JSON-compatible dicts; a backend never returns its own
  objects, and callers never get a live object whose mutation would change the store.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

Record = dict[str, Any]
# Returns the new record, or None for "leave it as it is".
Change = Callable[[Record], Record | None]

EVENT_KINDS = ("answer", "feedback", "unanswered", "escalation")


def now_iso() -> str:
    """The time stamp every record carries: UTC, to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class StoreUnavailable(Exception):
    """The backend cannot be reached; nothing was written. Callers tell the user and retry later."""


class Store(Protocol):
    async def open(self) -> None:
        """Connect and create tables if needed."""

    async def close(self) -> None: ...

    async def ping(self) -> bool:
        """True when the backend answers (for /readyz and the config doctor)."""

    async def get_setting(self, key: str) -> Record | None: ...

    async def put_setting(self, key: str, value: Record) -> None: ...

    async def add_ticket(self, record: Record) -> tuple[Record, bool]:
        """Insert ``record`` (keyed by ``record["id"]``) unless it exists.

        Returns the stored record and True when this call created it.
        """

    async def get_ticket(self, ticket_id: str) -> Record | None: ...

    async def update_ticket(self, ticket_id: str, change: Change) -> tuple[Record, bool] | None:
        """Apply ``change`` under optimistic concurrency, retrying on conflict.

        Returns the stored record and whether it changed, or None if there is no such ticket.
        """

    async def list_tickets(self, status: str | None = None) -> list[Record]: ...

    async def add_event(self, kind: str, record: Record) -> None:
        """Append an event of one of EVENT_KINDS; ``record`` gets an ``at`` time if missing."""

    async def add_events(self, events: list[tuple[str, Record]]) -> None:
        """Append several events at once (one transaction where the backend has them)."""

    async def list_events(self, kind: str) -> list[Record]: ...
