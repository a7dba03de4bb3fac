"""Replies when the connector throttles or fails: bounded retries that honour Retry-After, no
duplicates, a logged failure with the activity id, and other conversations unaffected."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from fake_connector import FakeConnector, serve

from bot.app import create_app
from bot.outbound import RetryPolicy, parse_retry_after
from bot.settings import Settings
from intents.knowledge import Knowledge
from intents.load import load_knowledge


@pytest.fixture(scope="module")
def kb() -> Knowledge:
    return load_knowledge()


@pytest.fixture
async def env(kb: Knowledge, tmp_path: Path) -> AsyncIterator[tuple[str, FakeConnector, Any]]:
    settings = Settings(port=0, sqlite_path=tmp_path / "bot.db", retry_budget_s=4.0)
    async with (
        FakeConnector().running() as connector,
        serve(create_app(settings, kb)) as bot,
        aiohttp.ClientSession() as http,
    ):
        yield bot, connector, http


def message(connector: FakeConnector, text: str, conversation: str = "a:one") -> dict[str, Any]:
    return {
        "type": "message",
        "id": uuid.uuid4().hex,
        "channelId": "msteams",
        "serviceUrl": connector.url,
        "from": {"id": "29:ola"},
        "recipient": {"id": "28:bot"},
        "conversation": {"id": conversation},
        "text": text,
    }


async def post(http: Any, bot: str, body: dict[str, Any]) -> int:
    async with http.post(f"{bot}/api/messages", json=body) as resp:
        await resp.read()
        return int(resp.status)


def replies(connector: FakeConnector, conversation: str = "a:one") -> int:
    return sum(1 for c in connector.calls if f"/v3/conversations/{conversation}/" in c.path)


async def test_throttled_reply_waits_as_told_and_arrives_once(
    env: tuple[str, FakeConnector, Any],
) -> None:
    bot, connector, http = env
    connector.script = [(429, {"Retry-After": "1"})]
    started = time.perf_counter()
    assert await post(http, bot, message(connector, "6025")) == 201
    assert time.perf_counter() - started >= 1.0  # honoured Retry-After
    assert replies(connector) == 2  # the refused attempt and the delivered one


async def test_gateway_errors_are_retried_with_backoff(env: tuple[str, FakeConnector, Any]) -> None:
    bot, connector, http = env
    connector.script = [(503, {}), (502, {})]
    assert await post(http, bot, message(connector, "6025")) == 201
    assert replies(connector) == 3


async def test_a_500_is_not_repeated_and_the_failure_is_logged(
    env: tuple[str, FakeConnector, Any], caplog: pytest.LogCaptureFixture
) -> None:
    bot, connector, http = env
    connector.script = [(500, {}), (500, {})]  # the reply, then the turn error apology
    activity = message(connector, "6025")
    with caplog.at_level(logging.ERROR):
        status = await post(http, bot, activity)
    assert status == 502  # the reply could not be delivered; never a 500
    assert replies(connector) == 2  # no retry of either
    assert any(activity["id"] in r.getMessage() for r in caplog.records)


async def test_throttling_gives_up_within_its_budget_without_blocking_others(
    env: tuple[str, FakeConnector, Any], kb: Knowledge
) -> None:
    bot, connector, http = env
    connector.script = [(429, {"Retry-After": "2"})] * 20
    slow = asyncio.create_task(post(http, bot, message(connector, "6025")))
    await asyncio.sleep(0.3)
    connector.script.clear()  # the other conversation's requests go through
    started = time.perf_counter()
    other = message(connector, "slow full sync", conversation="a:two")
    assert await post(http, bot, {**other, "deliveryMode": "expectReplies"}) == 200
    assert time.perf_counter() - started < 1.0
    connector.script = [(429, {"Retry-After": "2"})] * 20
    assert await slow in (201, 502)


def test_policy_bounds() -> None:
    policy = RetryPolicy(attempts=3, budget_s=5)
    assert policy.delay(0, 429, "2") == 2.0
    assert policy.delay(0, 429, "600") == 5.0  # capped by the budget
    assert policy.delay(2, 429, "1") is None  # out of attempts
    assert policy.delay(0, 500, None) is None
    assert policy.delay(0, 400, None) is None
    wait = policy.delay(1, 503, None)
    assert wait is not None
    assert 0.5 <= wait <= 1.0  # 0.5 * 2**1 with jitter between half and all of it


def test_retry_after_as_http_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("7") == 7.0
