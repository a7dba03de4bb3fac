"""Escalation end to end through the real app over HTTP, a SQLite store and a recording connector:
register the helpdesk, escalate, see the ticket thread, assign from the channel, see the card
updated and the asker notified, refuse actions from elsewhere, survive a restart."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from fake_connector import Call, FakeConnector, serve

from bot.app import create_app
from bot.settings import Settings
from intents.knowledge import Knowledge
from intents.load import load_knowledge

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CHANNEL = "19:helpdesk0123@thread.tacv2"
ASKER_CHAT = "a:1asker-personal-chat"


@pytest.fixture(scope="module")
def kb() -> Knowledge:
    return load_knowledge()


class Bot:
    """The running app plus a client that posts activities to it."""

    def __init__(self, url: str, http: aiohttp.ClientSession, connector: FakeConnector) -> None:
        self.url, self.http, self.connector = url, http, connector

    def activity(self, conversation: dict[str, Any], who: dict[str, Any], **fields: Any) -> Any:
        channel_data: dict[str, Any] = {"tenant": {"id": TENANT}}
        if conversation.get("conversationType") == "channel":
            channel_data |= {
                "channel": {"id": CHANNEL, "name": "Helpdesk"},
                "team": {"name": "IAM"},
            }
        if conversation.get("conversationType") == "channel" and "<at>" in fields.get("text", ""):
            # Teams sends the @mention as an entity too; the bot answers only when mentioned.
            mention = {"id": "28:mim-bot", "name": "MIM Bot"}
            fields["entities"] = [
                {"type": "mention", "mentioned": mention, "text": "<at>MIM Bot</at>"}
            ]
        return {
            "type": "message",
            "id": f"1680{uuid.uuid4().int % 10**9:09d}",
            "channelId": "msteams",
            "serviceUrl": self.connector.url,
            "from": who,
            "conversation": conversation,
            "recipient": {"id": "28:mim-bot", "name": "MIM Bot"},
            "locale": "en-US",
            "channelData": channel_data,
            **fields,
        }

    async def send(self, activity: dict[str, Any]) -> int:
        async with self.http.post(f"{self.url}/api/messages", json=activity) as resp:
            await resp.read()
            return resp.status


ADA = {"id": "29:ada", "name": "Ada Asker", "aadObjectId": "aad-ada"}
HANS = {"id": "29:hans", "name": "Hans Helpdesk", "aadObjectId": "aad-hans"}
PERSONAL = {"id": ASKER_CHAT, "conversationType": "personal"}
HELPDESK_ROOT = {"id": f"{CHANNEL};messageid=1111", "conversationType": "channel"}


@pytest.fixture
async def start(tmp_path: Path) -> AsyncIterator[Any]:
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(aiohttp.ClientSession())
        connector = await stack.enter_async_context(FakeConnector().running())

        async def start_bot(kb: Knowledge) -> Bot:
            settings = Settings(port=0, sqlite_path=tmp_path / "bot.db")
            url = await stack.enter_async_context(serve(create_app(settings, kb)))
            return Bot(url, http, connector)

        yield start_bot


def cards(calls: list[Call]) -> list[dict[str, Any]]:
    return [a["content"] for c in calls for a in (c.body or {}).get("attachments") or []]


def card_text(card: dict[str, Any]) -> str:
    return json.dumps(card, ensure_ascii=False)


async def register_helpdesk(bot: Bot) -> None:
    before = len(bot.connector.calls)
    text = "<at>MIM Bot</at> set helpdesk"
    assert await bot.send(bot.activity(HELPDESK_ROOT, HANS, text=text)) == 201
    (reply,) = cards(bot.connector.calls[before:])
    assert "now the helpdesk" in card_text(reply)


async def ask_and_escalate(bot: Bot, question: str) -> tuple[str, list[Call]]:
    before = len(bot.connector.calls)
    await bot.send(bot.activity(PERSONAL, ADA, text=question))
    (fallback,) = cards(bot.connector.calls[before:])
    escalate = next(
        a["data"]
        for item in fallback["body"]
        for a in item.get("actions", [])
        if a["data"]["action"] == "escalate"
    )
    before = len(bot.connector.calls)
    assert await bot.send(bot.activity(PERSONAL, ADA, value=escalate)) == 201
    calls = bot.connector.calls[before:]
    ack = cards([c for c in calls if ASKER_CHAT in c.path])
    assert len(ack) == 1
    found = re.search(r"ticket (T-[0-9A-F]{6})\b", card_text(ack[0]))
    assert found, ack[0]
    ticket = found.group(1)
    return ticket, calls


async def test_escalation_round_trip(start: Any, kb: Knowledge) -> None:
    bot = await start(kb)
    await register_helpdesk(bot)

    question = "our custom ECMA1 MA for the HR system crashes on every import"
    ticket, calls = await ask_and_escalate(bot, question)
    # The ticket arrived in the helpdesk channel as a new thread whose first message is the card.
    (created,) = [c for c in calls if c.path == "/v3/conversations"]
    assert created.body["channelData"]["channel"]["id"] == CHANNEL
    assert created.body["isGroup"] is True
    (ticket_card,) = [a["content"] for a in created.body["activity"]["attachments"]]
    assert ticket in card_text(ticket_card)
    assert question in card_text(ticket_card)
    assert "Ada Asker" in card_text(ticket_card)
    buttons = [a["data"] for i in ticket_card["body"] for a in i.get("actions", [])]
    assert buttons == [
        {"action": "assign", "ticket": ticket, "version": 1},
        {"action": "resolve", "ticket": ticket, "version": 1},
    ]

    # The same escalate button again: no second ticket, no second thread.
    _, again = await ask_and_escalate(bot, question)
    assert not [c for c in again if c.path == "/v3/conversations"]
    assert "already ticket" in card_text(cards(again)[0])

    # Hans assigns it from the thread: the card is updated in place and Ada hears about it.
    thread_conv = {"id": f"{CHANNEL};messageid=x", "conversationType": "channel"}
    before = len(bot.connector.calls)
    assign = {"action": "assign", "ticket": ticket, "version": 1}
    assert await bot.send(bot.activity(thread_conv, HANS, value=assign)) == 201
    after = bot.connector.calls[before:]
    (put,) = [c for c in after if c.method == "PUT"]
    assert put.path.startswith(f"/v3/conversations/{CHANNEL};messageid=")
    updated = card_text(cards([put])[0])
    assert '"value": "Assigned"' in updated
    assert '"text": "Hans Helpdesk"' in updated  # the assignee, as literal text
    (notice,) = [c for c in after if c.method == "POST" and ASKER_CHAT in c.path]
    assert ticket in card_text(cards([notice])[0])
    assert "Assigned to Hans Helpdesk" in card_text(cards([notice])[0])

    # A double click on the old card changes nothing and notifies nobody.
    before = len(bot.connector.calls)
    await bot.send(bot.activity(thread_conv, HANS, value=assign))
    after = bot.connector.calls[before:]
    assert not [c for c in after if c.method == "PUT" or ASKER_CHAT in c.path]
    assert "already handled" in card_text(cards(after)[0])

    # Ada cannot resolve her own ticket from her chat: refused, nothing changes.
    before = len(bot.connector.calls)
    resolve = {"action": "resolve", "ticket": ticket, "version": 2}
    await bot.send(bot.activity(PERSONAL, ADA, value=resolve))
    after = bot.connector.calls[before:]
    assert [c.method for c in after] == ["POST"]
    assert "Only the registered helpdesk" in card_text(cards(after)[0])


async def test_tickets_and_helpdesk_survive_a_restart(start: Any, kb: Knowledge) -> None:
    first = await start(kb)
    await register_helpdesk(first)
    ticket, _ = await ask_and_escalate(first, "something the bot cannot answer, qwxz")

    second = await start(kb)  # a new app on the same SQLite file
    before = len(second.connector.calls)
    await second.send(second.activity(PERSONAL, ADA, text="show helpdesk"))
    assert "IAM / Helpdesk" in card_text(cards(second.connector.calls[before:])[0])
    before = len(second.connector.calls)
    thread_conv = {"id": f"{CHANNEL};messageid=y", "conversationType": "channel"}
    resolve = {"action": "resolve", "ticket": ticket, "version": 1}
    await second.send(second.activity(thread_conv, HANS, value=resolve))
    after = second.connector.calls[before:]
    assert [c.method for c in after] == ["PUT", "POST"]
    assert "Resolved" in card_text(cards(after)[1])


async def test_without_a_helpdesk_the_ticket_is_still_stored(start: Any, kb: Knowledge) -> None:
    bot = await start(kb)
    ticket, calls = await ask_and_escalate(bot, "nobody is listening, zzqq")
    assert not [c for c in calls if c.path == "/v3/conversations"]
    assert "no helpdesk channel is registered" in card_text(cards(calls)[0])
    # The helpdesk registered later can act on it.
    await register_helpdesk(bot)
    before = len(bot.connector.calls)
    thread_conv = {"id": f"{CHANNEL};messageid=z", "conversationType": "channel"}
    await bot.send(bot.activity(thread_conv, HANS, value={"action": "resolve", "ticket": ticket}))
    after = bot.connector.calls[before:]
    assert [c for c in after if ASKER_CHAT in c.path]  # Ada is told it was resolved


async def test_helpdesk_cannot_be_hijacked_from_another_channel(start: Any, kb: Knowledge) -> None:
    bot = await start(kb)
    await register_helpdesk(bot)
    other = {"id": "19:other@thread.tacv2;messageid=9", "conversationType": "channel"}
    activity = bot.activity(other, ADA, text="<at>MIM Bot</at> set helpdesk")
    activity["channelData"]["channel"] = {"id": "19:other@thread.tacv2", "name": "Random"}
    before = len(bot.connector.calls)
    await bot.send(activity)
    assert "already registered in another conversation" in card_text(
        cards(bot.connector.calls[before:])[0]
    )
    # ... and in a personal chat it is refused outright.
    before = len(bot.connector.calls)
    await bot.send(bot.activity(PERSONAL, ADA, text="stats"))
    assert "Only the registered helpdesk" in card_text(cards(bot.connector.calls[before:])[0])


async def test_a_configured_helpdesk_needs_no_registration(tmp_path: Path, kb: Knowledge) -> None:
    async with (
        aiohttp.ClientSession() as http,
        FakeConnector().running() as connector,
    ):
        settings = Settings(
            port=0,
            sqlite_path=tmp_path / "bot.db",
            helpdesk_channel_id="19:configured@thread.tacv2",
            helpdesk_service_url=connector.url,
        )
        async with serve(create_app(settings, kb)) as url:
            bot = Bot(url, http, connector)
            _, calls = await ask_and_escalate(bot, "unattended deployment question qqzz")
            (created,) = [c for c in calls if c.path == "/v3/conversations"]
            assert created.body["channelData"]["channel"]["id"] == "19:configured@thread.tacv2"
            # Chat cannot move a helpdesk that configuration pins.
            before = len(connector.calls)
            text = "<at>MIM Bot</at> set helpdesk"
            await bot.send(bot.activity(HELPDESK_ROOT, HANS, text=text))
            assert "set by the bot's configuration" in card_text(cards(connector.calls[before:])[0])
