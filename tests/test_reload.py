"""Content hot reload through the real app: a changed content/ is served without a restart (on
SIGHUP, and on a file change in local mode); invalid content is refused with path:line in the
log while the old content keeps serving; fixing it reloads."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from fake_connector import serve

import bot.mim_bot
import bot.reload
from bot.app import KNOWLEDGE, METRICS, create_app
from bot.reload import snapshot
from bot.settings import Settings
from intents.load import DEFAULT_CONTENT

TOPIC = "pcns-6025"
OLD_TITLE = "PCNS event 6025: password changes are not reaching MIM"
NEW_TITLE = "PCNS event 6025: passwords stuck on the way to MIM"
FIXED_TITLE = "PCNS event 6025: fixed and reloaded"


class Running:
    def __init__(self, url: str, app: Any, content: Path, http: aiohttp.ClientSession) -> None:
        self.url, self.app, self.content, self.http = url, app, content, http
        self.topic_file = content / "topics" / f"{TOPIC}.yaml"

    async def title(self) -> str:
        """The title of the card the bot answers "6025" with, right now."""
        reply = await self.ask("6025")
        card = json.dumps(reply["attachments"][0]["content"], ensure_ascii=False)
        return next(t for t in (OLD_TITLE, NEW_TITLE, FIXED_TITLE) if t in card)

    async def ask(self, text: str) -> dict[str, Any]:
        """The one reply activity to ``text`` (expectReplies)."""
        activity = {
            "type": "message",
            "id": uuid.uuid4().hex,
            "channelId": "emulator",
            "serviceUrl": "http://127.0.0.1:9/",
            "from": {"id": "user"},
            "recipient": {"id": "bot"},
            "conversation": {"id": "conv"},
            "locale": "en-US",
            "text": text,
            "deliveryMode": "expectReplies",
        }
        async with self.http.post(f"{self.url}/api/messages", json=activity) as resp:
            assert resp.status == 200
            (reply,) = (await resp.json())["activities"]
        return dict(reply)

    async def ready(self) -> int:
        async with self.http.get(f"{self.url}/readyz") as resp:
            return resp.status

    def retitle(self, old: str, new: str) -> None:
        text = self.topic_file.read_text(encoding="utf-8")
        assert old in text
        self.topic_file.write_text(text.replace(old, new), encoding="utf-8")

    def reloads(self, result: str) -> float | None:
        registry = self.app[METRICS].registry
        return registry.get_sample_value("mimbot_content_reloads_total", {"result": result})

    async def serves(self, title: str) -> bool:
        return await self.title() == title


Start = Callable[..., Any]


@pytest.fixture
async def start(tmp_path: Path) -> AsyncIterator[Start]:
    content = tmp_path / "content"
    shutil.copytree(DEFAULT_CONTENT, content)
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(aiohttp.ClientSession())

        async def start_bot(**production: str) -> Running:
            settings = Settings(
                port=0, content_dir=content, sqlite_path=tmp_path / "bot.db", **production
            )
            app = create_app(settings)
            url = await stack.enter_async_context(serve(app))
            return Running(url, app, content, http)

        yield start_bot


async def eventually(check: Callable[[], Any]) -> None:
    """Wait (up to 10 s) until ``check()`` (sync or async) is true."""
    async with asyncio.timeout(10):
        while True:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
            await asyncio.sleep(0.05)


def sighup() -> None:
    # Only with a handler installed: SIGHUP's default action would end the test run.
    assert signal.getsignal(signal.SIGHUP) not in (signal.SIG_DFL, signal.SIG_IGN, None)
    os.kill(os.getpid(), signal.SIGHUP)


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bot.reload" and r.levelno >= 40]


def break_file(path: Path) -> int:
    """Make the topic in ``path`` invalid; the line of the problem."""
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.insert(3, "colour: red")  # an unknown field
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 4


async def test_sighup_reloads_refuses_invalid_content_and_recovers(
    start: Start, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.reload, "WATCH_INTERVAL_S", 3600.0)  # only the signal reloads here
    running = await start()
    assert await running.title() == OLD_TITLE

    running.retitle(OLD_TITLE, NEW_TITLE)
    assert await running.title() == OLD_TITLE  # nothing changes before the signal
    sighup()
    await eventually(lambda: running.reloads("ok") == 1)
    assert await running.title() == NEW_TITLE

    original = running.topic_file.read_text(encoding="utf-8")
    line = break_file(running.topic_file)
    with caplog.at_level(logging.ERROR, logger="bot.reload"):
        sighup()
        await eventually(lambda: running.reloads("failed") == 1)
    assert any(f"topics/{TOPIC}.yaml:{line}:" in m for m in refusals(caplog))
    assert await running.title() == NEW_TITLE  # the previous content keeps serving
    assert await running.ready() == 200

    running.topic_file.write_text(original.replace(NEW_TITLE, FIXED_TITLE), encoding="utf-8")
    sighup()
    await eventually(lambda: running.reloads("ok") == 2)
    assert await running.title() == FIXED_TITLE


async def test_local_mode_reloads_on_file_change(
    start: Start, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.reload, "WATCH_INTERVAL_S", 0.05)
    running = await start()
    assert await running.title() == OLD_TITLE

    running.retitle(OLD_TITLE, NEW_TITLE)
    await eventually(lambda: running.serves(NEW_TITLE))

    original = running.topic_file.read_text(encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="bot.reload"):
        line = break_file(running.topic_file)
        await eventually(lambda: running.reloads("failed") == 1)
    assert any(f"topics/{TOPIC}.yaml:{line}:" in m for m in refusals(caplog))
    assert await running.title() == NEW_TITLE
    assert await running.ready() == 200

    running.topic_file.write_text(original.replace(NEW_TITLE, FIXED_TITLE), encoding="utf-8")
    await eventually(lambda: running.reloads("ok") == 2)
    assert await running.title() == FIXED_TITLE


async def test_production_mode_does_not_watch_files(
    start: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.reload, "WATCH_INTERVAL_S", 0.05)
    running = await start(app_id=str(uuid.uuid4()), app_password="x", tenant_id=str(uuid.uuid4()))
    running.retitle(OLD_TITLE, NEW_TITLE)
    await asyncio.sleep(0.5)

    topic = running.app[KNOWLEDGE].get().catalog.topic(TOPIC)
    assert topic is not None
    assert topic.title.get("en") == OLD_TITLE
    assert running.reloads("ok") == 0


def test_snapshot_sees_changed_added_and_removed_yaml(tmp_path: Path) -> None:
    (tmp_path / "topics").mkdir()
    first = tmp_path / "topics" / "a.yaml"
    first.write_text("id: a\n", encoding="utf-8")
    before = snapshot(tmp_path)
    (tmp_path / "notes.txt").write_text("not content", encoding="utf-8")
    assert snapshot(tmp_path) == before
    first.write_text("id: a2\n", encoding="utf-8")
    assert snapshot(tmp_path) != before
    second = tmp_path / "b.yaml"
    second.write_text("x: 1\n", encoding="utf-8")
    assert str(second) in snapshot(tmp_path)
    second.unlink()
    assert str(second) not in snapshot(tmp_path)
    assert snapshot(tmp_path / "missing") == {}


async def test_a_reload_also_reaches_the_apology_for_a_failed_turn(
    start: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.reload, "WATCH_INTERVAL_S", 3600.0)

    async def broken(*args: Any) -> None:
        raise RuntimeError("a bug in a turn")

    monkeypatch.setattr(bot.mim_bot.MimBot, "_on_text", broken)
    running = await start()

    async def apology() -> str:
        return str((await running.ask("6025"))["text"])

    assert (await apology()).startswith("Sorry, something went wrong on my side.")
    ui = running.content / "ui.yaml"
    old = "Sorry, something went wrong on my side."
    ui.write_text(ui.read_text(encoding="utf-8").replace(old, "Oops, that failed."), "utf-8")
    sighup()
    await eventually(lambda: running.reloads("ok") == 1)
    assert (await apology()).startswith("Oops, that failed. Please try again. Reference: ")
