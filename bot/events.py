"""Statistics events written beside the turn, not inside it: the user already has the answer.

Events are queued and written in batches shortly after, one transaction per batch, so a busy
bot pays one commit per batch instead of one per turn.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.store.base import Record, Store, StoreUnavailable

log = logging.getLogger(__name__)
FLUSH_DELAY_S = 0.05
MAX_BATCH = 200


class EventLog:
    """Queued ``add_events`` calls, flushed in batches and drained before the store closes."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._queue: list[tuple[str, Record]] = []
        self._flusher: asyncio.Task[None] | None = None

    def record(self, kind: str, record: dict[str, Any]) -> None:
        self._queue.append((kind, record))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        while self._queue:
            if len(self._queue) < MAX_BATCH:
                # Let the turns of this moment join the batch. Also after a write: under load
                # events keep arriving while one is written, and going straight back would
                # write them in dribs and drabs, a store round trip for every few turns.
                await asyncio.sleep(FLUSH_DELAY_S)
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                await self.store.add_events(batch)
            except StoreUnavailable as exc:
                log.warning("could not record %d events: %s", len(batch), exc)

    async def drain(self) -> None:
        """Write everything recorded so far (at shutdown, and in tests)."""
        while self._flusher is not None and not self._flusher.done():
            await self._flusher
