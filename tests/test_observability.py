"""Observability through the real app: the per-turn JSON log line (ids, outcome, intent, score,
latency; the user's words only at DEBUG), /readyz, and the Prometheus metrics at /metrics."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from fake_connector import FakeConnector, serve
from prometheus_client.parser import text_string_to_metric_families

from bot.app import create_app
from bot.logs import (
    AccessLogger,
    JsonFormatter,
    TextFormatter,
    action_outcome,
    chosen_format,
)
from bot.settings import Settings, SettingsError
from bot.store.sqlite import SqliteStore
from intents.knowledge import Knowledge
from intents.load import load_knowledge

SECRET = "zebrakiwi"  # a word only the user typed: must never reach an INFO line
Start = Callable[..., Awaitable[str]]


@pytest.fixture(scope="module")
def kb() -> Knowledge:
    return load_knowledge()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    async with FakeConnector().running() as fake:
        yield fake


@pytest.fixture
async def start(kb: Knowledge, tmp_path: Path) -> AsyncIterator[Start]:
    async with AsyncExitStack() as stack:

        async def start_bot(store: Any = None) -> str:
            settings = Settings(port=0, sqlite_path=tmp_path / "bot.db")
            return await stack.enter_async_context(serve(create_app(settings, kb, store)))

        yield start_bot


@pytest.fixture
async def bot(start: Start) -> str:
    return await start()


def message(service_url: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "id": f"act-{uuid.uuid4().hex[:8]}",
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {"id": "29:ada", "name": "Ada"},
        "recipient": {"id": "28:bot"},
        "conversation": {"id": "a:conv-1", "conversationType": "personal"},
        "locale": "en-US",
        **fields,
    }


async def ask(http: aiohttp.ClientSession, bot: str, **fields: Any) -> list[dict[str, Any]]:
    """One activity with expectReplies; the reply activities."""
    activity = message("http://127.0.0.1:9/", deliveryMode="expectReplies", **fields)
    async with http.post(f"{bot}/api/messages", json=activity) as resp:
        assert resp.status == 200, await resp.text()
        replies: list[dict[str, Any]] = (await resp.json())["activities"]
        return replies


async def scrape(http: aiohttp.ClientSession, bot: str) -> dict[tuple[str, frozenset[Any]], float]:
    """/metrics parsed: (sample name, labels) -> value."""
    async with http.get(f"{bot}/metrics") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await resp.text()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def turns(metrics: dict[tuple[str, frozenset[Any]], float], outcome: str, topic: str) -> float:
    labels = frozenset({"outcome": outcome, "topic": topic}.items())
    return metrics.get(("mimbot_turns_total", labels), 0.0)


def one(metrics: dict[tuple[str, frozenset[Any]], float], name: str, **labels: str) -> float:
    return metrics[(name, frozenset(labels.items()))]


# ---- the turn log --------------------------------------------------------------------------


async def test_a_turn_logs_one_json_line_with_ids_outcome_score_and_no_text(
    bot: str, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        await ask(http, bot, id="act-6025", text=f"pcns event 6025 {SECRET}")

    lines = [JsonFormatter().format(r) for r in caplog.records]
    assert not [line for line in lines if SECRET in line]
    (turn,) = [json.loads(line) for line in lines if json.loads(line)["logger"] == "bot.turn"]
    assert turn["level"] == "INFO"
    assert turn["message"] == "turn"
    assert turn["time"].endswith("Z")
    assert turn["activity_id"] == "act-6025"
    assert turn["conversation_id"] == "a:conv-1"
    assert turn["outcome"] == "answer"
    assert turn["intent"] == "pcns-6025"
    assert isinstance(turn["score"], float)
    assert turn["score"] > 0
    assert turn["latency_ms"] >= 0


async def test_a_turn_writes_one_line_and_requests_without_a_turn_keep_their_access_line(
    kb: Knowledge, tmp_path: Path, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    # The server as `python -m bot` runs it: with the bot's access log class.
    app = create_app(Settings(port=0, sqlite_path=tmp_path / "bot.db"), kb)
    runner = web.AppRunner(app, access_log_class=AccessLogger)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        bot = f"http://127.0.0.1:{runner.addresses[0][1]}"
        with caplog.at_level(logging.INFO):
            await ask(http, bot, id="act-one-line", text="6025")
            bad = {"Content-Type": "application/json"}
            async with http.post(f"{bot}/api/messages", data=b"{", headers=bad) as resp:
                assert resp.status == 400
            async with http.get(f"{bot}/healthz") as resp:
                assert resp.status == 200
            for _ in range(100):  # the access line follows the response
                if any("/healthz" in r.getMessage() for r in caplog.records):
                    break
                await asyncio.sleep(0.02)
    finally:
        await runner.cleanup()

    turns = [r for r in caplog.records if r.name == "bot.turn"]
    access = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert [r.__dict__["activity_id"] for r in turns] == ["act-one-line"]
    assert len(access) == 2
    assert '"POST /api/messages' in access[0]
    assert " 400 " in access[0]
    assert '"GET /healthz' in access[1]


async def test_the_users_words_are_logged_at_debug_only(
    bot: str, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="bot.turn"):
        await ask(http, bot, id="act-debug", text=f"what is {SECRET}")

    with_text = [r for r in caplog.records if SECRET in JsonFormatter().format(r)]
    assert [r.levelno for r in with_text] == [logging.DEBUG]
    assert json.loads(JsonFormatter().format(with_text[0]))["text"] == f"what is {SECRET}"
    (turn,) = [r for r in caplog.records if r.getMessage() == "turn"]
    assert turn.__dict__["outcome"] == "fallback"
    assert turn.__dict__["intent"] is None


def test_json_lines_carry_extras_and_tracebacks_on_one_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("bot.x", logging.ERROR, __file__, 1, "a\nb %s", ("c",), None)
        record.exc_info = sys.exc_info()
    record.__dict__["ticket"] = "T-1"

    line = JsonFormatter().format(record)

    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "a\nb c"
    assert parsed["ticket"] == "T-1"
    assert parsed["level"] == "ERROR"
    assert "ValueError: boom" in parsed["exc"]


def test_text_lines_show_extras_as_key_value() -> None:
    record = logging.LogRecord("bot.turn", logging.INFO, __file__, 1, "turn", (), None)
    record.__dict__.update(outcome="answer", score=0.5, text="two words\nand a line")

    line = TextFormatter("%(levelname)s %(name)s %(message)s").format(record)

    assert line == 'INFO bot.turn turn outcome=answer score=0.5 text="two words\\nand a line"'


def test_button_actions_are_bounded_labels() -> None:
    assert action_outcome("feedback") == "action:feedback"
    assert action_outcome("assign") == "action:assign"
    assert action_outcome("<script>" * 100) == "action:other"
    assert action_outcome({"nested": 1}) == "action:other"


# ---- /readyz -------------------------------------------------------------------------------


class ClosableStore(SqliteStore):
    """A SQLite store the test can close while the app runs (the app closes it again)."""

    closed = False

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await super().close()


class BrokenPingStore(SqliteStore):
    async def ping(self) -> bool:
        raise RuntimeError("the backend blew up")


async def test_readyz_is_200_with_content_and_a_reachable_store(
    bot: str, http: aiohttp.ClientSession, kb: Knowledge
) -> None:
    async with http.get(f"{bot}/readyz") as resp:
        assert resp.status == 200
        body = await resp.json()
    assert body["status"] == "ready"
    assert body["content"]["topics"] == len(kb.catalog.topics)
    assert body["store"]["status"] == "reachable"


async def test_readyz_is_503_naming_the_store_when_it_is_gone(
    start: Start, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    store = ClosableStore(tmp_path / "closable.db")
    bot = await start(store)
    await store.close()

    async with http.get(f"{bot}/readyz") as resp:
        assert resp.status == 503
        body = await resp.json()
    assert body["status"] == "not ready"
    assert body["store"]["status"] == "unreachable"
    assert body["content"]["status"] == "loaded"
    async with http.get(f"{bot}/healthz") as resp:
        assert resp.status == 200  # alive all the same


async def test_readyz_is_503_not_500_when_the_ping_raises(
    start: Start, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    bot = await start(BrokenPingStore(tmp_path / "broken.db"))

    async with http.get(f"{bot}/readyz") as resp:
        assert resp.status == 503
        assert (await resp.json())["store"]["status"] == "unreachable"


# ---- /metrics ------------------------------------------------------------------------------


async def test_metrics_can_require_a_bearer_token(
    kb: Knowledge, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    token = "s3cret-metrics-token"
    settings = Settings(port=0, sqlite_path=tmp_path / "bot.db", metrics_token=token)
    async with serve(create_app(settings, kb)) as bot:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": token}):
            async with http.get(f"{bot}/metrics", headers=headers) as resp:
                assert resp.status == 401
                assert resp.headers["WWW-Authenticate"].startswith("Bearer")
                assert "METRICS_TOKEN" in (await resp.json())["error"]
        async with http.get(f"{bot}/metrics", headers={"Authorization": f"Bearer {token}"}) as resp:
            assert resp.status == 200
            assert "mimbot_turns_total" in await resp.text()
        async with http.get(f"{bot}/readyz") as resp:
            assert resp.status == 200  # probes carry no token


def test_the_metrics_token_comes_from_the_environment() -> None:
    assert Settings.from_env({"METRICS_TOKEN": " abc "}).metrics_token == "abc"
    assert Settings.from_env({}).metrics_token == ""


async def test_metrics_count_turns_by_outcome_and_topic_and_time_them(
    bot: str, http: aiohttp.ClientSession, kb: Knowledge
) -> None:
    before = await scrape(http, bot)
    assert one(before, "mimbot_turn_seconds_count") == 0
    assert one(before, "mimbot_content_topics") == len(kb.catalog.topics)

    for text in ("6025", "6025", "help", "qwzx vbnm plork", "stopped-foo"):
        await ask(http, bot, text=text)
    await ask(http, bot, value={"action": "topic", "intent": "slow-full-sync", "lang": "en"})
    await ask(http, bot, value={"action": "no-such-action"})
    after = await scrape(http, bot)

    assert turns(after, "answer", "pcns-6025") == 2
    assert turns(after, "menu", "none") == 1
    assert turns(after, "fallback", "none") == 1
    assert turns(after, "unknown_code", "none") == 1
    assert turns(after, "action:topic", "slow-full-sync") == 1
    assert turns(after, "action:other", "none") == 1
    assert one(after, "mimbot_turn_seconds_count") == 7
    assert one(after, "mimbot_turn_seconds_bucket", le="+Inf") == 7
    assert one(after, "mimbot_turn_seconds_sum") > 0


async def test_metrics_count_tickets_opened_once_per_ticket(
    bot: str, http: aiohttp.ClientSession
) -> None:
    (fallback,) = await ask(http, bot, text="qwzx vbnm plork")
    escalate = next(
        action["data"]
        for item in fallback["attachments"][0]["content"]["body"]
        for action in item.get("actions", [])
        if action.get("data", {}).get("action") == "escalate"
    )
    assert one(await scrape(http, bot), "mimbot_tickets_opened_total") == 0

    await ask(http, bot, value=escalate)
    await ask(http, bot, value=escalate)  # "already escalated": no second ticket

    after = await scrape(http, bot)
    assert one(after, "mimbot_tickets_opened_total") == 1
    assert turns(after, "action:escalate", "none") == 2


async def test_metrics_count_replies_that_failed_for_good(
    bot: str, http: aiohttp.ClientSession, connector: FakeConnector
) -> None:
    assert one(await scrape(http, bot), "mimbot_outbound_failures_total", operation="send") == 0
    connector.script = [(500, {}), (500, {})]  # the reply, then the apology: neither repeated

    async with http.post(f"{bot}/api/messages", json=message(connector.url, text="6025")) as resp:
        assert resp.status == 502

    after = await scrape(http, bot)
    assert one(after, "mimbot_outbound_failures_total", operation="send") == 2
    assert turns(after, "error", "pcns-6025") == 1


async def test_each_app_has_its_own_registry(start: Start, http: aiohttp.ClientSession) -> None:
    first, second = await start(), await start()

    await ask(http, first, text="6025")

    assert turns(await scrape(http, first), "answer", "pcns-6025") == 1
    assert turns(await scrape(http, second), "answer", "pcns-6025") == 0


def test_log_format_is_json_in_production_and_text_locally_unless_set() -> None:
    production = {"MicrosoftAppId": str(uuid.uuid4()), "MicrosoftAppPassword": "x"}
    production["MicrosoftAppTenantId"] = str(uuid.uuid4())
    assert chosen_format(Settings.from_env(production)) == "json"
    assert chosen_format(Settings.from_env({})) == "text"
    assert chosen_format(Settings.from_env({"LOG_FORMAT": "JSON"})) == "json"
    assert chosen_format(Settings.from_env({**production, "LOG_FORMAT": "text"})) == "text"
    with pytest.raises(SettingsError, match="LOG_FORMAT must be json or text"):
        Settings.from_env({"LOG_FORMAT": "xml"})


def test_fast_timestamps_read_as_the_standard_library_writes_them() -> None:
    # The formatters cache the part of a timestamp that changes once a second.
    for created in (0.0, 1764142402.0, 1764142402.1234, 1764142402.9996, 1764142403.5):
        record = logging.LogRecord("bot.x", logging.INFO, __file__, 1, "m", (), None)
        record.created, record.msecs = created, (created - int(created)) * 1000
        text = TextFormatter("%(asctime)s").format(record)
        assert text == logging.Formatter("%(asctime)s").format(record)
        when = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
        assert json.loads(JsonFormatter().format(record))["time"] == when.replace("+00:00", "Z")


def test_text_values_quote_what_would_break_a_key_value_line() -> None:
    record = logging.LogRecord("bot.turn", logging.INFO, __file__, 1, "turn", (), None)
    record.__dict__.update(
        a=None, b=True, c=3, d=0.25, e=float("nan"), f="x=y", g="tab\there", h="ok-1", i=[1]
    )

    line = TextFormatter("%(message)s").format(record)

    assert line == 'turn a=null b=true c=3 d=0.25 e=NaN f="x=y" g="tab\\there" h=ok-1 i=[1]'
