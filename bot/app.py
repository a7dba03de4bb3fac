"""The aiohttp application factory: routes, adapter, store and knowledge wired from Settings."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from bot.adapter import create_adapter
from bot.helpdesk import Helpdesk
from bot.messages import make_messages_handler
from bot.mim_bot import MimBot
from bot.pages import add_pages
from bot.settings import Settings
from bot.store.base import Store
from bot.store.factory import create_store
from intents.knowledge import Knowledge
from intents.load import load_knowledge

KNOWLEDGE = web.AppKey("knowledge", Knowledge)
SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)


async def healthz(request: web.Request) -> web.Response:
    kb = request.app[KNOWLEDGE]
    return web.json_response({"status": "ok", "topics": len(kb.catalog.topics)})


def create_app(
    settings: Settings, knowledge: Knowledge | None = None, store: Store | None = None
) -> web.Application:
    """Build the app; content is loaded (and validated) here unless given.

    The store is opened when the app starts and closed when it stops.
    """
    kb = knowledge or load_knowledge(settings.content_dir)
    app = web.Application(client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[KNOWLEDGE] = kb
    app[STORE] = store or create_store(settings)
    adapter = create_adapter(settings, kb.catalog)
    helpdesk = Helpdesk(app[STORE], adapter, settings, lambda: app[KNOWLEDGE])
    bot = MimBot(lambda: app[KNOWLEDGE], helpdesk)
    app.cleanup_ctx.append(_store_lifecycle)
    app.router.add_post("/api/messages", make_messages_handler(settings, adapter, bot))
    app.router.add_get("/healthz", healthz)
    add_pages(app)
    return app


async def _store_lifecycle(app: web.Application) -> AsyncIterator[None]:
    await app[STORE].open()
    yield
    await app[STORE].close()
