"""The aiohttp application factory: routes, adapter and knowledge wired from Settings."""

from __future__ import annotations

from aiohttp import web

from bot.adapter import create_adapter
from bot.messages import make_messages_handler
from bot.mim_bot import MimBot
from bot.pages import add_pages
from bot.settings import Settings
from intents.knowledge import Knowledge
from intents.load import load_knowledge

KNOWLEDGE = web.AppKey("knowledge", Knowledge)
SETTINGS = web.AppKey("settings", Settings)


async def healthz(request: web.Request) -> web.Response:
    kb = request.app[KNOWLEDGE]
    return web.json_response({"status": "ok", "topics": len(kb.catalog.topics)})


def create_app(settings: Settings, knowledge: Knowledge | None = None) -> web.Application:
    """Build the app; content is loaded (and validated) here unless given."""
    kb = knowledge or load_knowledge(settings.content_dir)
    app = web.Application(client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[KNOWLEDGE] = kb
    adapter = create_adapter(settings, kb.catalog)
    bot = MimBot(lambda: app[KNOWLEDGE])
    app.router.add_post("/api/messages", make_messages_handler(settings, adapter, bot))
    app.router.add_get("/healthz", healthz)
    add_pages(app)
    return app
