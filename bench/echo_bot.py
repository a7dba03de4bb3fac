"""The load benchmark's baseline: an echo bot on exactly the stack and settings of the real bot.

Run: .venv/bin/python bench/echo_bot.py [--host 127.0.0.1] [--port P]

Everything except the bot logic is the real bot's: Settings from the environment (local mode),
bot/adapter.py ``create_adapter`` (which applies the msrest patch of bot/patches.py and installs
the same turn error handler), bot/messages.py's /api/messages handler, the same aiohttp
``run_app`` with the same logging set-up and access log class (the echo has no turn line, so it
keeps aiohttp's access line per request, as the bot keeps its turn line), and the
same content loaded at start (the adapter's error handler needs the catalog; it also makes the
resident memory comparable). The bot answers every message with one plain-text message that
echoes it; there is no matching and no card.
"""

from __future__ import annotations

import argparse
import os

from aiohttp import web
from botbuilder.core import ActivityHandler, MessageFactory, TurnContext

from bot.adapter import create_adapter
from bot.app import ADAPTER, BOT
from bot.logs import AccessLogger, chosen_format, configure_logging
from bot.messages import make_messages_handler
from bot.settings import Settings
from intents.load import load_knowledge


class EchoBot(ActivityHandler):  # type: ignore[misc]
    async def on_message_activity(self, turn_context: TurnContext) -> None:
        text = (turn_context.activity.text or "").strip()
        await turn_context.send_activity(MessageFactory.text(f"echo: {text}"))


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_echo_app(settings: Settings) -> web.Application:
    kb = load_knowledge(settings.content_dir)
    app = web.Application(client_max_size=settings.max_body_bytes)
    adapter, bot = create_adapter(settings, kb.catalog), EchoBot()
    app[ADAPTER], app[BOT] = adapter, bot
    app.router.add_post("/api/messages", make_messages_handler(settings, adapter, bot))
    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    settings = Settings.from_env(os.environ, host=args.host, port=args.port)
    configure_logging(settings.log_level, chosen_format(settings))
    web.run_app(
        create_echo_app(settings),
        host=settings.host,
        port=settings.port,
        print=None,
        access_log_class=AccessLogger,
    )


if __name__ == "__main__":
    main()
