"""Content hot reload: on SIGHUP and, in local mode, when a content file changes.

New content is loaded and validated off the event loop and swapped in whole only when valid;
invalid content is refused with every problem (path:line) logged at ERROR, and the knowledge
already being served stays. Readers call ``KnowledgeRef.get`` once per turn, so a turn never
sees half of one version and half of another.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import suppress
from pathlib import Path

from aiohttp import web

from bot.metrics import Metrics
from intents.content import ContentError
from intents.knowledge import Knowledge
from intents.load import load_knowledge

log = logging.getLogger(__name__)
WATCH_INTERVAL_S = 1.0  # how often local mode looks at content/ for changes
Snapshot = dict[str, tuple[int, int]]


class KnowledgeRef:
    """The knowledge being served. Stored once in the app (whose state is frozen once it
    runs); a reload replaces ``current`` whole and never mutates a Knowledge."""

    def __init__(self, knowledge: Knowledge) -> None:
        self.current = knowledge

    def get(self) -> Knowledge:
        return self.current


class Reloader:
    """Loads ``content_dir`` into ``ref`` on request, one reload at a time."""

    def __init__(self, content_dir: Path, ref: KnowledgeRef, metrics: Metrics) -> None:
        self.content_dir = content_dir
        self.ref = ref
        self.metrics = metrics
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[bool]] = set()

    async def reload(self, trigger: str) -> bool:
        """Swap in the content on disk if it is valid; True when it was."""
        async with self._lock:
            try:
                kb = await asyncio.to_thread(load_knowledge, self.content_dir)
            except ContentError as exc:
                for problem in exc.problems:
                    log.error(
                        "content refused: %s",
                        problem,
                        extra={"file": problem.path, "line": problem.line, "trigger": trigger},
                    )
                return self._refused(trigger, f"{len(exc.problems)} problem(s)")
            except Exception as exc:
                # Whatever goes wrong reading new content, the old content keeps serving.
                log.exception("content reload failed", extra={"trigger": trigger})
                return self._refused(trigger, type(exc).__name__)
            self.ref.current = kb
            topics = len(kb.catalog.topics)
            self.metrics.reload(ok=True)
            self.metrics.content(topics)
            log.info("content reloaded", extra={"trigger": trigger, "topics": topics})
            return True

    def _refused(self, trigger: str, why: str) -> bool:
        self.metrics.reload(ok=False)
        log.error(
            "content reload refused, still serving the previous content",
            extra={"trigger": trigger, "reason": why},
        )
        return False

    def request(self, trigger: str) -> None:
        """Start a reload from synchronous code (a signal handler)."""
        task = asyncio.get_running_loop().create_task(self.reload(trigger))
        self._tasks.add(task)  # keep a reference until done: the loop holds tasks weakly
        task.add_done_callback(self._tasks.discard)

    async def wait(self) -> None:
        """Let reloads already started finish (for shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


async def on_sighup(reloader: Reloader) -> AsyncIterator[None]:
    """Reload on SIGHUP while the app runs (the last app started in a process owns it)."""
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGHUP, reloader.request, "SIGHUP")
    except (AttributeError, NotImplementedError, RuntimeError, ValueError) as exc:
        # No SIGHUP on Windows; no signal handlers off the main thread.
        log.warning("content reload on SIGHUP unavailable: %s", exc)
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGHUP)
        await reloader.wait()


def snapshot(root: Path) -> Snapshot:
    """(mtime, size) of every YAML file under ``root``; a missing folder is empty."""
    found: Snapshot = {}
    for path in sorted(root.rglob("*.yaml")):
        with suppress(OSError):  # removed between listing and stat
            info = path.stat()
            found[str(path)] = (info.st_mtime_ns, info.st_size)
    return found


async def watch(reloader: Reloader, interval: float, seen: Snapshot) -> None:
    """Reload when content/ changes from ``seen``, once the change has held still for one
    interval (an editor saving several files, or writing one in steps, gives one reload)."""
    root = reloader.content_dir
    pending: Snapshot | None = None
    while True:
        await asyncio.sleep(interval)
        current = await asyncio.to_thread(snapshot, root)
        if current == seen:
            pending = None
        elif current != pending:
            pending = current  # still changing: look again next time
        else:
            seen, pending = current, None
            await reloader.reload("file change")


async def on_file_change(reloader: Reloader) -> AsyncIterator[None]:
    """Run ``watch`` in the background while the app runs."""
    # The first look is taken before the app serves: a change made once it serves is a change.
    seen = await asyncio.to_thread(snapshot, reloader.content_dir)
    task = asyncio.create_task(watch(reloader, WATCH_INTERVAL_S, seen))
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


def add_reload(app: web.Application, reloader: Reloader, watch_files: bool) -> None:
    """Reload on SIGHUP while ``app`` runs, and on file changes too when ``watch_files``."""
    app.cleanup_ctx.append(lambda _: on_sighup(reloader))
    if watch_files:
        app.cleanup_ctx.append(lambda _: on_file_change(reloader))
