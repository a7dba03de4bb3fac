"""``python -m bot report``: the helpdesk statistics from the configured store, as text."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.settings import Settings
from bot.store.base import Store
from bot.store.factory import create_store
from intents.load import load_knowledge
from intents.model import Catalog
from intents.stats import Stats, compute_stats, format_stats


async def gather_stats(store: Store, catalog: Catalog) -> Stats:
    """The statistics from what ``store`` holds now (for ``report`` and ``stats`` in chat)."""
    return compute_stats(
        catalog,
        await store.list_events("answer"),
        await store.list_events("feedback"),
        await store.list_events("unanswered"),
        await store.list_tickets(),
        datetime.now(UTC),
    )


async def report(settings: Settings) -> str:
    kb = load_knowledge(settings.content_dir)
    store = create_store(settings)
    await store.open()
    try:
        stats = await gather_stats(store, kb.catalog)
    finally:
        await store.close()
    return format_stats(stats)
