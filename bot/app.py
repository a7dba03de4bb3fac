"""The aiohttp application factory: routes, adapter, store and knowledge wired from Settings."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from botbuilder.core import Bot
from botbuilder.integration.aiohttp import CloudAdapter

from bot.adapter import create_adapter
from bot.events import EventLog
from bot.helpdesk import Helpdesk
from bot.messages import make_messages_handler
from bot.metrics import Metrics
from bot.mim_bot import MimBot
from bot.observability import add_observability
from bot.pages import add_pages
from bot.reload import KnowledgeRef, Reloader, add_reload
from bot.settings import Settings
from bot.store.base import Store
from bot.store.factory import create_store
from intents.knowledge import Knowledge
from intents.load import load_knowledge

# The app's state is frozen once it runs, so reloads swap the Knowledge inside this holder.
KNOWLEDGE = web.AppKey("knowledge", KnowledgeRef)
METRICS = web.AppKey("metrics", Metrics)
SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
EVENTS = web.AppKey("events", EventLog)
# The turn's parts behind /api/messages, for tools that drive turns without HTTP (bench/turn.py).
ADAPTER = web.AppKey("adapter", CloudAdapter)
BOT = web.AppKey("bot", Bot)


async def healthz(request: web.Request) -> web.Response:
    kb = request.app[KNOWLEDGE].get()
    return web.json_response({"status": "ok", "topics": len(kb.catalog.topics)})


def create_app(
    settings: Settings, knowledge: Knowledge | None = None, store: Store | None = None
) -> web.Application:
    """Build the app; content is loaded (and validated) here unless given.

    The store is opened when the app starts and closed when it stops. Content is reloaded
    from ``settings.content_dir`` on SIGHUP and, in local mode, when a file there changes.
    """
    kb = knowledge or load_knowledge(settings.content_dir)
    app = web.Application(client_max_size=settings.max_body_bytes)
    ref = KnowledgeRef(kb)
    metrics = Metrics()
    metrics.content(len(kb.catalog.topics))
    app[SETTINGS] = settings
    app[KNOWLEDGE] = ref
    app[METRICS] = metrics
    app[STORE] = store or create_store(settings)
    adapter = create_adapter(settings, lambda: ref.get().catalog, metrics.outbound_failed)
    helpdesk = Helpdesk(app[STORE], adapter, settings, ref.get, metrics)
    app[EVENTS] = EventLog(app[STORE])
    bot = MimBot(ref.get, helpdesk, metrics, app[EVENTS])
    app.cleanup_ctx.append(_store_lifecycle)
    app[ADAPTER], app[BOT] = adapter, bot
    app.router.add_post("/api/messages", make_messages_handler(settings, adapter, bot))
    app.router.add_get("/healthz", healthz)
    add_observability(app, ref, app[STORE], metrics, settings.metrics_token)
    add_reload(app, Reloader(settings.content_dir, ref, metrics), watch_files=settings.local_mode)
    add_pages(app)
    return app


async def _store_lifecycle(app: web.Application) -> AsyncIterator[None]:
    await app[STORE].open()
    yield
    await app[EVENTS].drain()  # statistics still on their way to the store
    await app[STORE].close()
