"""The load benchmark's ceiling: a bare aiohttp handler that answers a fixed JSON.

Run: .venv/bin/python bench/fixed_json.py [--host 127.0.0.1] [--port P]

No botbuilder, no parsing: the handler reads the request body and answers what the bot would
answer in shape only. A body that mentions ``expectReplies`` (the delivery mode) gets 200 with a
fixed ``{"activities": [...]}`` (one message); any other body gets 201 with no body, as the bot
does in normal mode (nothing is sent to a connector). The server runs with the same
``run_app`` and logging set-up as the bot (its access log class included), so the difference
to the bot is the Bot Framework turn, not the HTTP stack.
"""

from __future__ import annotations

import argparse
import json
import os

from aiohttp import web

from bot.logs import AccessLogger, chosen_format, configure_logging
from bot.settings import Settings

FIXED = json.dumps(
    {
        "activities": [
            {
                "type": "message",
                "channelId": "msteams",
                "text": "a fixed reply",
                "inputHint": "acceptingInput",
            }
        ]
    }
).encode()
EXPECT_REPLIES = b"expectReplies"


async def messages(request: web.Request) -> web.Response:
    body = await request.read()
    if EXPECT_REPLIES in body:
        return web.Response(body=FIXED, status=200, content_type="application/json")
    return web.Response(status=201)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_fixed_app() -> web.Application:
    app = web.Application()
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3978)
    args = parser.parse_args()
    settings = Settings.from_env(os.environ, host=args.host, port=args.port)
    configure_logging(settings.log_level, chosen_format(settings))
    web.run_app(
        create_fixed_app(),
        host=args.host,
        port=args.port,
        print=None,
        access_log_class=AccessLogger,
    )


if __name__ == "__main__":
    main()
