"""Teams behaviour over HTTP: the message extension's search invoke, mentions in group chats."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from fake_connector import FakeConnector, serve

from bot.app import create_app
from bot.settings import Settings
from intents.knowledge import Knowledge
from intents.load import load_knowledge

CARD = "application/vnd.microsoft.card.adaptive"


@pytest.fixture(scope="module")
def kb() -> Knowledge:
    return load_knowledge()


@pytest.fixture
async def env(kb: Knowledge, tmp_path: Path) -> AsyncIterator[tuple[str, FakeConnector, Any]]:
    settings = Settings(port=0, sqlite_path=tmp_path / "bot.db")
    async with (
        FakeConnector().running() as connector,
        serve(create_app(settings, kb)) as bot,
        aiohttp.ClientSession() as http,
    ):
        yield bot, connector, http


def activity(connector: FakeConnector, **fields: Any) -> dict[str, Any]:
    return {
        "id": uuid.uuid4().hex,
        "channelId": "msteams",
        "serviceUrl": connector.url,
        "from": {"id": "29:ola", "name": "Ola"},
        "recipient": {"id": "28:mim-bot", "name": "MIM Bot"},
        "conversation": {"id": "a:personal"},
        "locale": "en-US",
        **fields,
    }


def query(connector: FakeConnector, text: str | None, **extra: Any) -> dict[str, Any]:
    parameters = [{"name": "query", "value": text}] if text is not None else []
    value = {"commandId": "findTopic", "parameters": parameters, "queryOptions": {"count": 25}}
    return activity(connector, type="invoke", name="composeExtension/query", value=value, **extra)


async def post(http: Any, bot: str, body: dict[str, Any]) -> tuple[int, Any]:
    async with http.post(f"{bot}/api/messages", json=body) as resp:
        return resp.status, (await resp.json() if resp.content_length else None)


async def test_search_returns_the_matching_card_with_a_preview(
    env: tuple[str, FakeConnector, Any], kb: Knowledge
) -> None:
    bot, connector, http = env
    started = time.perf_counter()
    status, body = await post(http, bot, query(connector, "6025"))
    assert time.perf_counter() - started < 5  # Teams gives a search command 5 seconds
    assert status == 200
    result = body["composeExtension"]
    assert (result["type"], result["attachmentLayout"]) == ("result", "list")
    first = result["attachments"][0]
    pcns = kb.catalog.topic("pcns-6025")
    assert pcns is not None
    assert first["contentType"] == CARD
    assert first["content"]["body"][0]["text"] == pcns.title.en
    assert first["preview"]["content"]["title"] == pcns.title.en
    assert first["preview"]["content"]["text"] == pcns.symptom.en
    # Inserted cards go to people who may not have the bot: no buttons that post back to it.
    assert "Action.Submit" not in str(first["content"])
    assert connector.calls == []  # answered in the HTTP response, nothing sent elsewhere


async def test_empty_search_lists_every_topic_in_norwegian_for_nb(
    env: tuple[str, FakeConnector, Any], kb: Knowledge
) -> None:
    bot, connector, http = env
    status, body = await post(http, bot, query(connector, "", locale="nb-NO"))
    assert status == 200
    titles = [a["preview"]["content"]["title"] for a in body["composeExtension"]["attachments"]]
    assert titles == [t.title.nb for t in kb.catalog.topics]


async def test_search_without_parameters_does_not_fail(env: tuple[str, FakeConnector, Any]) -> None:
    bot, connector, http = env
    status, body = await post(http, bot, query(connector, None))
    assert status == 200
    assert len(body["composeExtension"]["attachments"]) == 7


async def test_group_chat_needs_a_mention(env: tuple[str, FakeConnector, Any]) -> None:
    bot, connector, http = env
    group = {"id": "19:group@thread.v2", "conversationType": "groupChat"}
    status, _ = await post(
        http, bot, activity(connector, type="message", text="6025", conversation=group)
    )
    assert status == 201
    assert connector.calls == []  # not mentioned: silent
    mention = {"type": "mention", "mentioned": {"id": "28:mim-bot"}, "text": "<at>MIM Bot</at>"}
    mentioned = activity(
        connector,
        type="message",
        text="<at>MIM Bot</at> 6025",
        conversation=group,
        entities=[mention],
    )
    status, _ = await post(http, bot, mentioned)
    assert status == 201
    (reply,) = connector.calls
    assert reply.body["attachments"][0]["content"]["body"][0]["text"].startswith("PCNS")


async def test_a_long_message_is_read_on_its_configured_start(
    kb: Knowledge, tmp_path: Path
) -> None:
    settings = Settings(port=0, sqlite_path=tmp_path / "bot.db", max_text_chars=200)
    filler = "lorem ipsum dolor " * 20  # 360 characters of nothing
    async with (
        FakeConnector().running() as connector,
        serve(create_app(settings, kb)) as bot,
        aiohttp.ClientSession() as http,
    ):
        early = activity(
            connector, type="message", text="6025 " + filler, deliveryMode="expectReplies"
        )
        late = activity(
            connector, type="message", text=filler + "6025", deliveryMode="expectReplies"
        )
        _, first = await post(http, bot, early)
        _, second = await post(http, bot, late)
    first_title = first["activities"][0]["attachments"][0]["content"]["body"][0]["text"]
    second_title = second["activities"][0]["attachments"][0]["content"]["body"][0]["text"]
    assert first_title.startswith("PCNS")
    assert not second_title.startswith("PCNS")  # past the limit: not read
