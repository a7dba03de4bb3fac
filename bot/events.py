"""Statistics events written beside the turn, not inside it: the user already has the answer."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.store.base import Store, StoreUnavailable

log = logging.getLogger(__name__)


class EventLog:
    """Fire-and-forget ``add_event`` calls, drained before the store closes."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._pending: set[asyncio.Task[None]] = set()

    def record(self, kind: str, record: dict[str, Any]) -> None:
        task = asyncio.get_running_loop().create_task(self._write(kind, record))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _write(self, kind: str, record: dict[str, Any]) -> None:
        try:
            await self.store.add_event(kind, record)
        except StoreUnavailable as exc:
            log.warning("could not record %s event: %s", kind, exc)

    async def drain(self) -> None:
        """Wait for every event recorded so far (at shutdown, and in tests)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
