"""``python -m bot chat``: talk to the real bot over HTTP from a terminal, no Emulator needed."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import uuid
from collections.abc import Callable
from typing import Any, BinaryIO

import aiohttp
from aiohttp import web

from bot.app import create_app
from bot.cardtext import Button, render_card
from bot.settings import Settings
from intents.cards import CONTENT_TYPE

PROMPT = "you> "
HELLO = "Type a MIM Sync problem, a number to press a button, 'help' for topics, 'quit' to leave."


class ChatSession:
    """A conversation with the bot in expectReplies mode through its own /api/messages."""

    def __init__(self, base_url: str, http: aiohttp.ClientSession, locale: str | None) -> None:
        self.url = f"{base_url}/api/messages"
        self.base_url = base_url
        self.http = http
        self.locale = locale
        self.conversation = f"chat-{uuid.uuid4().hex[:8]}"
        self.buttons: list[Button] = []

    def _activity(self, kind: str, **fields: Any) -> dict[str, Any]:
        return {
            "type": kind,
            "id": uuid.uuid4().hex,
            "channelId": "emulator",
            "serviceUrl": self.base_url,
            "deliveryMode": "expectReplies",
            "conversation": {"id": self.conversation},
            "from": {"id": "chat-user", "name": "You"},
            "recipient": {"id": "mim-bot", "name": "MIM Sync bot"},
            "locale": self.locale,
            **fields,
        }

    async def _post(self, activity: dict[str, Any]) -> list[str]:
        async with self.http.post(self.url, json=activity) as resp:
            data = await resp.json()
        if resp.status != 200:
            return [f"(bot answered HTTP {resp.status}: {data})"]
        self.buttons = []
        return [self._show(a) for a in data.get("activities", [])]

    def _show(self, activity: dict[str, Any]) -> str:
        parts = [activity["text"]] if activity.get("text") else []
        for attachment in activity.get("attachments") or []:
            if attachment.get("contentType") == CONTENT_TYPE:
                text, buttons = render_card(attachment["content"])
                offset = len(self.buttons)
                self.buttons.extend(buttons)
                parts.append(_renumber(text, offset))
        return "\n".join(parts)

    async def start(self) -> list[str]:
        members = [{"id": "mim-bot"}, {"id": "chat-user"}]
        return await self._post(self._activity("conversationUpdate", membersAdded=members))

    async def say(self, line: str) -> list[str]:
        choice = line.strip()
        if choice.isdigit() and 1 <= int(choice) <= len(self.buttons):
            button = self.buttons[int(choice) - 1]
            if button.kind == "url":
                return [f"(open in a browser: {button.data})"]
            return await self._post(self._activity("message", value=button.data))
        return await self._post(self._activity("message", text=line))


def _renumber(text: str, offset: int) -> str:
    if not offset:
        return text
    for n in range(50, 0, -1):  # descending, so [1] does not catch [10]
        text = text.replace(f"[{n}]", f"[{n + offset}]")
    return text


async def run_chat(
    settings: Settings,
    stdin: BinaryIO | None = None,
    out: Callable[[str], None] = print,
    locale: str | None = None,
) -> int:
    """Serve the app on an ephemeral loopback port and relay stdin lines to it."""
    stdin = stdin or sys.stdin.buffer
    # Always local mode on loopback, whatever the environment says; same content and store.
    local = dataclasses.replace(settings, app_id="", app_password="", host="127.0.0.1", port=0)
    runner = web.AppRunner(create_app(local))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    interactive = stdin.isatty()
    try:
        async with aiohttp.ClientSession() as http:
            session = ChatSession(f"http://127.0.0.1:{port}", http, locale)
            out(HELLO)
            for block in await session.start():
                out(block)
            while True:
                if interactive:
                    sys.stdout.write(PROMPT)
                    sys.stdout.flush()
                raw = await asyncio.to_thread(stdin.readline)
                line = raw.decode("utf-8", errors="replace")
                if not line or line.strip().lower() in ("quit", "exit", "avslutt"):
                    break
                if not line.strip():
                    continue
                if not interactive:
                    out(f"{PROMPT}{line.rstrip()}")
                for block in await session.say(line.rstrip("\n")):
                    out(block)
    finally:
        await runner.cleanup()
    return 0
