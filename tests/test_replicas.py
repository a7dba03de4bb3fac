"""Two app instances sharing one Azure Table store (Azurite), as two replicas would: many
concurrent escalations and double clicks land exactly once; the store going away costs the user
a clear message, not data, and the bot recovers when it returns."""

from __future__ import annotations

import asyncio
import json
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from azurite import Azurite
from fake_connector import FakeConnector, serve

from bot.app import create_app
from bot.settings import Settings
from bot.store.azure_table import AzureTableStore
from intents.knowledge import Knowledge
from intents.load import load_knowledge

CHANNEL = "19:helpdesk0123@thread.tacv2"
HANS = {"id": "29:hans", "name": "Hans Helpdesk"}
ASKERS = 16


@pytest.fixture(scope="module")
def azurite() -> Iterator[Azurite]:
    # Its own instance: the outage test stops and starts it.
    with (
        tempfile.TemporaryDirectory(prefix="azurite-replicas-") as location,
        Azurite(Path(location)) as az,
    ):
        yield az


@pytest.fixture(scope="module")
def kb() -> Knowledge:
    return load_knowledge()


class Cluster:
    def __init__(self, urls: list[str], connector: FakeConnector, http: Any, prefix: str) -> None:
        self.urls, self.connector, self.http, self.prefix = urls, connector, http, prefix

    def activity(self, conversation: str, who: dict[str, str], **fields: Any) -> dict[str, Any]:
        kind = "channel" if conversation.startswith("19:") else "personal"
        data: dict[str, Any] = {"tenant": {"id": "t"}}
        if kind == "channel":
            data["channel"] = {"id": CHANNEL, "name": "Helpdesk"}
        return {
            "type": "message",
            "id": uuid.uuid4().hex,
            "channelId": "msteams",
            "serviceUrl": self.connector.url,
            "from": who,
            "conversation": {"id": conversation, "conversationType": kind},
            "recipient": {"id": "28:bot", "name": "MIM Bot"},
            "channelData": data,
            **fields,
        }

    async def send(self, replica: int, activity: dict[str, Any]) -> int:
        async with self.http.post(f"{self.urls[replica]}/api/messages", json=activity) as resp:
            await resp.read()
            return resp.status

    def texts_to(self, conversation: str) -> list[str]:
        return [
            json.dumps(c.body, ensure_ascii=False)
            for c in self.connector.calls
            if c.method == "POST" and f"/v3/conversations/{conversation}/" in c.path
        ]


@pytest.fixture
async def cluster(azurite: Azurite, kb: Knowledge) -> AsyncIterator[Cluster]:
    prefix = "t" + uuid.uuid4().hex[:10]
    settings = Settings(
        port=0,
        store="azure-table",
        azure_tables_connection=azurite.connection_string,
        table_prefix=prefix,
    )
    async with (
        FakeConnector().running() as connector,
        serve(create_app(settings, kb)) as first,
        serve(create_app(settings, kb)) as second,
        aiohttp.ClientSession() as http,
    ):
        yield Cluster([first, second], connector, http, prefix)


async def register(c: Cluster) -> None:
    mention = [{"type": "mention", "mentioned": {"id": "28:bot"}, "text": "<at>MIM Bot</at>"}]
    thread = f"{CHANNEL};messageid=1"
    text = "<at>MIM Bot</at> set helpdesk"
    assert await c.send(0, c.activity(thread, HANS, text=text, entities=mention)) == 201


def escalate_value(n: int) -> dict[str, Any]:
    return {"action": "escalate", "intent": None, "lang": "en", "question": f"odd problem {n}"}


async def test_concurrent_escalations_and_clicks_land_exactly_once(
    cluster: Cluster, azurite: Azurite
) -> None:
    c = cluster
    await register(c)
    askers = [({"id": f"29:user{n}", "name": f"User {n}"}, f"a:chat{n}") for n in range(ASKERS)]
    # Every asker clicks Escalate twice, once on each replica, all at the same time.
    clicks = [
        c.send(replica, c.activity(chat, who, value=escalate_value(n)))
        for n, (who, chat) in enumerate(askers)
        for replica in (0, 1)
    ]
    assert set(await asyncio.gather(*clicks)) == {201}

    store = AzureTableStore(azurite.connection_string, table_prefix=c.prefix)
    await store.open()
    try:
        tickets = await store.list_tickets()
        assert len(tickets) == ASKERS
        threads = [call for call in c.connector.calls if call.path == "/v3/conversations"]
        assert len(threads) == ASKERS  # one helpdesk thread per ticket
        for _n, (_, chat) in enumerate(askers):
            answers = c.texts_to(chat)
            assert sum("is now ticket" in t for t in answers) == 1, answers
            assert sum("already ticket" in t for t in answers) == 1, answers
        assert all(t["card"] and t["card"]["activity_id"] for t in await store.list_tickets())

        # The helpdesk double-clicks Assign, then Resolve, each click on both replicas at once.
        for action, version in (("assign", 1), ("resolve", 2)):
            clicks = [
                c.send(
                    replica,
                    c.activity(
                        f"{CHANNEL};messageid=x",
                        HANS,
                        value={"action": action, "ticket": t["id"], "version": version},
                    ),
                )
                for t in tickets
                for replica in (0, 1)
            ]
            assert set(await asyncio.gather(*clicks)) == {201}

        for ticket in await store.list_tickets():
            actions = [h["action"] for h in ticket["history"]]
            assert actions == ["open", "assign", "resolve"], ticket["id"]
            assert ticket["status"] == "resolved"
        for _, chat in askers:
            updates = [t for t in c.texts_to(chat) if "Update on your ticket" in t]
            states = [u.split("Update on your ticket")[1][:40] for u in updates]
            assert len(updates) == 2, states  # assigned, then resolved: once each
        card_updates = [call for call in c.connector.calls if call.method == "PUT"]
        assert len(card_updates) == 2 * ASKERS
    finally:
        await store.close()


async def test_store_outage_costs_a_message_not_data(cluster: Cluster, azurite: Azurite) -> None:
    c = cluster
    await register(c)
    who, chat = {"id": "29:ada", "name": "Ada"}, "a:ada"
    assert await c.send(0, c.activity(chat, who, value=escalate_value(100))) == 201
    azurite.stop()
    try:
        assert await c.send(1, c.activity(chat, who, value=escalate_value(101))) == 201
        assert "can't reach my storage" in c.texts_to(chat)[-1]
        # Answering still works without the store: only the statistics are skipped.
        assert await c.send(0, c.activity(chat, who, text="6025")) == 201
        assert "PCNS" in c.texts_to(chat)[-1]
    finally:
        azurite.start()
    assert await c.send(1, c.activity(chat, who, value=escalate_value(101))) == 201
    assert "is now ticket" in c.texts_to(chat)[-1]
    store = AzureTableStore(azurite.connection_string, table_prefix=c.prefix)
    await store.open()
    try:
        questions = sorted(t["question"] for t in await store.list_tickets())
        assert questions == ["odd problem 100", "odd problem 101"]
    finally:
        await store.close()
