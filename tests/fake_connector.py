"""A fake Bot Framework connector on 127.0.0.1 that records what the bot sends; a serve helper."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Call:
    """One request the bot made: method, URL-decoded path and JSON body."""

    method: str
    path: str
    body: Any


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on an ephemeral loopback port; yield its base URL; always clean up."""
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


class FakeConnector:
    """Answers the connector's activity routes with ``{"id": ...}`` and records every request.

    Requests to any other route are recorded too and answered 404, so a stray call shows up.
    """

    def __init__(self) -> None:
        # Scripted failures, consumed one per activity request: (status, headers) or "hang"
        # (never answer, to make the client time out). Empty: every request succeeds.
        self.script: list[tuple[int, dict[str, str]] | str] = []
        self.calls: list[Call] = []
        self.url = ""
        self._ids = itertools.count(1)
        self.app = web.Application()
        conv = "/v3/conversations/{conv}/activities"
        self.app.router.add_post("/v3/conversations", self._create_conversation)
        self.app.router.add_post(conv, self._activity)
        self.app.router.add_post(conv + "/{reply_to}", self._activity)
        self.app.router.add_put(conv + "/{id}", self._activity)
        self.app.router.add_route("*", "/{tail:.*}", self._other)

    async def _record(self, request: web.Request) -> None:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        self.calls.append(Call(request.method, request.path, body))

    async def _activity(self, request: web.Request) -> web.Response:
        await self._record(request)
        if self.script:
            step = self.script.pop(0)
            if step == "hang":
                await asyncio.sleep(3600)
            status, headers = step if isinstance(step, tuple) else (500, {})
            return web.json_response(
                {"error": {"code": "Scripted"}}, status=status, headers=headers
            )
        return web.json_response({"id": f"fake-{next(self._ids)}"})

    async def _create_conversation(self, request: web.Request) -> web.Response:
        # Teams answers a new channel thread with the thread's conversation id and the id of
        # its first message (the card).
        await self._record(request)
        body = self.calls[-1].body or {}
        channel = ((body.get("channelData") or {}).get("channel") or {}).get("id", "19:new")
        activity_id = f"fake-{next(self._ids)}"
        conversation = f"{channel};messageid={activity_id}"
        return web.json_response({"id": conversation, "activityId": activity_id})

    def sent(self, method: str = "POST", contains: str = "") -> list[Call]:
        """The recorded calls with this method whose path contains ``contains``."""
        return [c for c in self.calls if c.method == method and contains in c.path]

    async def _other(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response({"error": "not a connector route"}, status=404)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[FakeConnector]:
        async with serve(self.app) as url:
            self.url = url
            yield self
