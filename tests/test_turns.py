"""Turn tests: MimBot driven by botbuilder's TestAdapter, no HTTP, sync inspectors only."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity

from bot.adapter import create_adapter
from bot.helpdesk import Helpdesk
from bot.mim_bot import MimBot
from bot.settings import Settings
from bot.store.sqlite import SqliteStore
from intents.knowledge import Knowledge
from intents.load import load_knowledge
from intents.model import Lang

CARD = "application/vnd.microsoft.card.adaptive"
Inspector = Callable[[Activity, str], None]


@pytest.fixture(scope="module")
def kb() -> Knowledge:
    return load_knowledge()


@pytest.fixture
async def adapter(kb: Knowledge, tmp_path: Path) -> AsyncIterator[TestAdapter]:
    settings = Settings(sqlite_path=tmp_path / "bot.db")
    store = SqliteStore(settings.sqlite_path)
    await store.open()
    helpdesk = Helpdesk(store, create_adapter(settings, kb.catalog), settings, lambda: kb)
    yield TestAdapter(MimBot(lambda: kb, helpdesk).on_turn)
    await store.close()


def activity(**fields: Any) -> Activity:
    """Built from JSON as a channel sends it (Mention objects built in code break the SDK)."""
    result: Activity = Activity().deserialize(fields)
    return result


def card_of(reply: Activity) -> dict[str, Any]:
    assert reply.type == "message"
    assert [a.content_type for a in reply.attachments] == [CARD]
    card: dict[str, Any] = reply.attachments[0].content
    return card


def texts(card: dict[str, Any]) -> list[str]:
    return [e["text"] for e in card["body"] if e["type"] == "TextBlock"]


def submits(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        a["data"]
        for e in card["body"]
        if e["type"] == "ActionSet"
        for a in e["actions"]
        if a["type"] == "Action.Submit"
    ]


def menu_inspector(kb: Knowledge, lang: Lang, welcome: bool) -> Inspector:
    def inspect(reply: Activity, description: str) -> None:
        card = card_of(reply)
        expected = [kb.catalog.text("menu_title", lang), kb.catalog.text("menu_text", lang)]
        if welcome:
            expected = [
                kb.catalog.text("welcome_title", lang),
                kb.catalog.text("welcome_text", lang),
                *expected,
            ]
        assert texts(card) == expected
        buttons = [a for e in card["body"] if e["type"] == "ActionSet" for a in e["actions"]]
        assert [b["title"] for b in buttons] == [t.label.get(lang) for t in kb.catalog.topics]
        assert submits(card) == [
            {"action": "topic", "intent": t.id, "lang": lang, "question": ""}
            for t in kb.catalog.topics
        ]
        assert len(buttons) == 7

    return inspect


@pytest.mark.parametrize(
    ("text", "locale", "lang"),
    [
        ("help", "en-US", "en"),
        ("  HELP ", None, "en"),
        ("hjelp", "nb-NO", "nb"),
        ("<at>MIM Bot</at> hjelp", "nb-NO", "nb"),
    ],
)
async def test_help_gives_the_menu_of_seven_topics(
    adapter: TestAdapter, kb: Knowledge, text: str, locale: str | None, lang: Lang
) -> None:
    flow = await adapter.send(activity(type="message", text=text, locale=locale))
    await flow.assert_reply(menu_inspector(kb, lang, welcome=False))
    assert adapter.activity_buffer == []


async def test_attachment_without_text_gets_the_unsupported_notice(
    adapter: TestAdapter, kb: Knowledge
) -> None:
    image = {"contentType": "image/png", "contentUrl": "https://example.invalid/screen.png"}

    def inspect(reply: Activity, description: str) -> None:
        card = card_of(reply)
        assert texts(card) == [kb.catalog.text("unsupported_message", "en")]
        assert submits(card) == []

    flow = await adapter.send(activity(type="message", attachments=[image]))
    await flow.assert_reply(inspect)
    assert adapter.activity_buffer == []


def channel_update(members: list[str]) -> Activity:
    return activity(
        type="conversationUpdate",
        membersAdded=[{"id": m} for m in members],
        conversation={"id": "19:abc@thread.tacv2", "conversationType": "channel", "isGroup": True},
        channelData={"eventType": "teamMemberAdded", "tenant": {"id": "t1"}},
    )


async def test_new_team_member_in_a_channel_gets_no_welcome(adapter: TestAdapter) -> None:
    # TestAdapter's bot is ChannelAccount(id="bot"); "29:new-user" is someone else.
    await adapter.send(channel_update(["29:new-user"]))
    assert adapter.activity_buffer == []


async def test_bot_added_to_a_channel_says_welcome_once(
    adapter: TestAdapter, kb: Knowledge
) -> None:
    flow = await adapter.send(channel_update(["bot"]))
    await flow.assert_reply(menu_inspector(kb, "en", welcome=True))
    assert adapter.activity_buffer == []


async def test_user_opening_a_personal_chat_is_welcomed(
    adapter: TestAdapter, kb: Knowledge
) -> None:
    update = activity(
        type="conversationUpdate",
        membersAdded=[{"id": "29:ada"}],
        conversation={"id": "a:1personal", "conversationType": "personal"},
        locale="nb-NO",
    )
    flow = await adapter.send(update)
    await flow.assert_reply(menu_inspector(kb, "nb", welcome=True))
    assert adapter.activity_buffer == []
