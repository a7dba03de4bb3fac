"""``python -m bot [--host H] [--port P]`` serves the bot; ``chat`` talks to it; ``report``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from bot.app import create_app
from bot.chat import run_chat
from bot.doctor import run_doctor
from bot.logs import AccessLogger, chosen_format, configure_logging
from bot.report import report
from bot.settings import Settings, SettingsError
from bot.store.base import StoreUnavailable
from intents.content import ContentError

log = logging.getLogger("bot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument("--host", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default $PORT or 3978)")
    sub = parser.add_subparsers(dest="command")
    chat = sub.add_parser("chat", help="a terminal conversation with the bot")
    chat.add_argument("--locale", default=None, help="the locale to send, e.g. nb-NO")
    sub.add_parser("report", help="answers, helpful rate, escalations, open tickets, unanswered")
    doctor = sub.add_parser(
        "doctor", help="check the deployment's configuration; non-zero on problems"
    )
    doctor.add_argument(
        "--package", type=Path, help="Teams package to compare (build/mim-sync-bot.zip)"
    )
    doctor.add_argument("--offline", action="store_true", help="do not test the secret at Entra ID")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
    if args.command == "doctor":
        findings, code = asyncio.run(run_doctor(os.environ, args.package, args.offline))
        print("\n".join(str(f) for f in findings))
        print("doctor: " + ("problems found, refusing to start" if code else "ready"))
        return code
    try:
        settings = Settings.from_env(os.environ, host=args.host, port=args.port)
        if args.command == "chat":
            configure_logging("WARNING", "text")
            return asyncio.run(run_chat(settings, locale=args.locale))
        if args.command == "report":
            print(asyncio.run(report(settings)))
            return 0
        configure_logging(settings.log_level, chosen_format(settings))
        app = create_app(settings)
    except SettingsError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return 2
    except StoreUnavailable as exc:
        print(f"store unavailable: {exc}", file=sys.stderr)
        return 3
    except ContentError as exc:
        print(f"content is invalid, refusing to start:\n{exc}", file=sys.stderr)
        return 1
    if settings.local_mode:
        log.warning(
            "LOCAL MODE: no MicrosoftAppId, so no authentication; listening on %s:%s only, "
            "replies only to loopback serviceUrls. Connect the Bot Framework Emulator to "
            "http://%s:%s/api/messages with no app id.",
            settings.host,
            settings.port,
            settings.host,
            settings.port,
        )
    else:
        log.info("production mode: app %s (%s)", settings.app_id, settings.app_type)
    web.run_app(
        app, host=settings.host, port=settings.port, print=None, access_log_class=AccessLogger
    )
    return 0
