"""HTTP tests: the real aiohttp app on a loopback socket, replies caught by a fake connector."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import aiohttp
import jwt
import pytest
import requests
from botframework.connector.auth import AuthenticationConstants
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor, _OpenIdMetadata
from cryptography.hazmat.primitives.asymmetric import rsa
from fake_connector import FakeConnector, serve
from jwt.algorithms import RSAAlgorithm

from bot.app import create_app
from bot.settings import Settings
from intents.knowledge import Knowledge
from intents.load import load_knowledge
from intents.model import Topic

CARD = "application/vnd.microsoft.card.adaptive"
TENANT = "5f2c6d1e-0b7a-4c3e-9a41-7d2e8b6f1c90"
APP_ID = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
TEAMS_URL = "https://smba.trafficmanager.net/emea/"
CHANNEL_CONV = "19:abc@thread.tacv2;messageid=1680000000000"
PRODUCTION = Settings(app_id=APP_ID, app_password="x", tenant_id=TENANT, app_type="SingleTenant")
StartBot = Callable[..., Awaitable[str]]


# ---- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kb() -> Knowledge:
    return load_knowledge()


@pytest.fixture
async def start_bot(kb: Knowledge, tmp_path: Path) -> AsyncIterator[StartBot]:
    """Start the real app (create_app) on an ephemeral loopback port; stopped at teardown."""
    async with AsyncExitStack() as stack:

        async def start(settings: Settings | None = None) -> str:
            db = tmp_path / "bot.db"
            app = create_app(dataclasses.replace(settings or Settings(port=0), sqlite_path=db), kb)
            return await stack.enter_async_context(serve(app))

        yield start


@pytest.fixture
async def bot(start_bot: StartBot) -> str:
    return await start_bot()


@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    async with FakeConnector().running() as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    # A hang fails the test instead of stalling the run.
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        yield session


# ---- helpers -------------------------------------------------------------------------------


def teams_activity(service_url: str, kind: str = "message", **fields: Any) -> dict[str, Any]:
    """An activity shaped like the JSON Teams (or the Emulator) posts; ``fields`` override."""
    return {
        "type": kind,
        "id": f"1680{uuid.uuid4().int % 10**9:09d}",
        "timestamp": "2024-05-02T08:15:30.123Z",
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {"id": "29:1ada", "name": "Ada Admin", "aadObjectId": str(uuid.uuid4())},
        "conversation": {"id": "a:1personal-chat", "conversationType": "personal"},
        "recipient": {"id": "28:mim-bot", "name": "MIM Bot"},
        "locale": "en-US",
        "channelData": {"tenant": {"id": TENANT}},
        **fields,
    }


async def post(
    http: aiohttp.ClientSession, bot: str, activity: Any, **kwargs: Any
) -> tuple[int, Any]:
    """POST to /api/messages; the status and the JSON body (None when the body is empty)."""
    if "data" not in kwargs and "json" not in kwargs:
        kwargs["json"] = activity
    async with http.post(f"{bot}/api/messages", **kwargs) as resp:
        text = await resp.text()
        return resp.status, json.loads(text) if text else None


async def expect_replies(
    http: aiohttp.ClientSession, bot: str, activity: dict[str, Any]
) -> list[dict[str, Any]]:
    status, body = await post(http, bot, {**activity, "deliveryMode": "expectReplies"})
    assert status == 200, body
    assert isinstance(body, dict)
    activities: list[dict[str, Any]] = body["activities"]
    return activities


def card_of(activity: dict[str, Any]) -> dict[str, Any]:
    """The one Adaptive Card an activity carries."""
    assert activity["type"] == "message"
    attachments = activity["attachments"]
    assert [a["contentType"] for a in attachments] == [CARD]
    card: dict[str, Any] = attachments[0]["content"]
    assert card["type"] == "AdaptiveCard"
    return card


def walk(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        yield item
        yield from walk(item.get("items", []))
        yield from walk(item.get("actions", []))


def texts(card: dict[str, Any]) -> list[str]:
    return [e["text"] for e in walk(card["body"]) if e["type"] == "TextBlock"]


def submits(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["data"] for e in walk(card["body"]) if e["type"] == "Action.Submit"]


def topic(kb: Knowledge, topic_id: str) -> Topic:
    found = kb.catalog.topic(topic_id)
    assert found is not None, topic_id
    return found


def title(card: dict[str, Any]) -> str:
    first = card["body"][0]
    assert first["type"] == "TextBlock"
    assert first["size"] == "Large"
    text: str = first["text"]
    return text


async def assert_still_serving(http: aiohttp.ClientSession, bot: str, kb: Knowledge) -> None:
    [reply] = await expect_replies(http, bot, teams_activity(bot, text="6025"))
    assert title(card_of(reply)) == topic(kb, "pcns-6025").title.en


async def test_fake_connector_records_and_answers(http: aiohttp.ClientSession) -> None:
    async with FakeConnector().running() as fake:
        base = f"{fake.url}/v3/conversations/c%3A1/activities"
        async with http.post(base, json={"n": 1}) as r1, http.post(f"{base}/a1", json={"n": 2}):
            first = await r1.json()
        async with http.put(f"{base}/{first['id']}", json={"n": 3}):
            pass
        async with http.get(f"{fake.url}/elsewhere") as stray:
            assert stray.status == 404

    assert [(c.method, c.path, c.body) for c in fake.calls] == [
        ("POST", "/v3/conversations/c:1/activities", {"n": 1}),
        ("POST", "/v3/conversations/c:1/activities/a1", {"n": 2}),
        ("PUT", f"/v3/conversations/c:1/activities/{first['id']}", {"n": 3}),
        ("GET", "/elsewhere", None),
    ]


# ---- replies -------------------------------------------------------------------------------


async def test_expect_replies_returns_the_card_and_posts_nothing(
    bot: str, http: aiohttp.ClientSession, connector: FakeConnector, kb: Knowledge
) -> None:
    activity = teams_activity(connector.url, text="6025", deliveryMode="expectReplies")
    status, body = await post(
        http,
        bot,
        None,
        data=json.dumps(activity),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )

    assert status == 200
    [reply] = body["activities"]
    card = card_of(reply)
    assert title(card) == topic(kb, "pcns-6025").title.en
    assert "6025" in title(card)
    assert reply["replyToId"] == activity["id"]
    assert reply["conversation"]["id"] == activity["conversation"]["id"]
    helpful = {"action": "feedback", "intent": "pcns-6025", "lang": "en", "question": "6025"}
    assert {**helpful, "helpful": True} in submits(card)
    assert {**helpful, "helpful": False} in submits(card)
    assert connector.calls == []


async def test_normal_mode_posts_one_reply_to_the_connector(
    bot: str, http: aiohttp.ClientSession, connector: FakeConnector, kb: Knowledge
) -> None:
    activity = teams_activity(connector.url, text="6025")

    status, _ = await post(http, bot, activity)

    assert status == 201
    [call] = connector.calls
    conv = activity["conversation"]["id"]
    assert (call.method, call.path) == (
        "POST",
        f"/v3/conversations/{conv}/activities/{activity['id']}",
    )
    assert call.body["replyToId"] == activity["id"]
    assert call.body["conversation"]["id"] == conv
    assert call.body["recipient"]["id"] == activity["from"]["id"]
    assert title(card_of(call.body)) == topic(kb, "pcns-6025").title.en


async def test_norwegian_text_gets_the_norwegian_card(
    bot: str, http: aiohttp.ClientSession, kb: Knowledge
) -> None:
    activity = teams_activity(bot, text="hei, full synkronisering er treg", locale=None)

    [reply] = await expect_replies(http, bot, activity)

    card = card_of(reply)
    slow = topic(kb, "slow-full-sync")
    assert slow.title.nb != slow.title.en
    assert title(card) == slow.title.nb
    assert "synkronisering" in title(card).lower()
    assert kb.catalog.text("steps_heading", "nb") in texts(card)
    assert all(d["lang"] == "nb" for d in submits(card))


async def test_teams_channel_mention_is_answered_in_the_thread(
    bot: str, http: aiohttp.ClientSession, connector: FakeConnector, kb: Knowledge
) -> None:
    activity = teams_activity(
        connector.url,
        text="<at>MIM Bot</at> stopped-extension-dll-exception",
        entities=[
            {
                "type": "mention",
                "text": "<at>MIM Bot</at>",
                "mentioned": {"id": "28:mim-bot", "name": "MIM Bot"},
            },
            {"type": "clientInfo", "locale": "en-US", "platform": "Web"},
        ],
        conversation={
            "id": CHANNEL_CONV,
            "conversationType": "channel",
            "isGroup": True,
            "tenantId": TENANT,
        },
        channelData={
            "teamsChannelId": "19:abc@thread.tacv2",
            "teamsTeamId": "19:team@thread.tacv2",
            "channel": {"id": "19:abc@thread.tacv2"},
            "team": {"id": "19:team@thread.tacv2"},
            "tenant": {"id": TENANT},
        },
    )

    status, _ = await post(http, bot, activity)

    assert status == 201
    [call] = connector.calls
    assert call.method == "POST"
    assert call.path == f"/v3/conversations/{CHANNEL_CONV}/activities/{activity['id']}"
    assert call.body["conversation"]["id"] == CHANNEL_CONV
    assert call.body["replyToId"] == activity["id"]
    card = card_of(call.body)
    assert title(card) == topic(kb, "extension-dll-exception").title.en
    code_heading = kb.catalog.text("code_heading", "en")
    assert f"{code_heading}: stopped-extension-dll-exception" in texts(card)
    # The mention is not part of the question carried for feedback and escalation.
    questions = {d["question"] for d in submits(card)}
    assert questions == {"stopped-extension-dll-exception"}


# ---- Action.Submit ---------------------------------------------------------------------------


def submit(bot: str, value: dict[str, Any]) -> dict[str, Any]:
    """An Action.Submit as Teams posts it: a message with no text and the button's data."""
    activity = teams_activity(bot, value=value)
    activity.pop("text", None)
    return activity


async def test_not_helpful_feedback_offers_escalation(
    bot: str, http: aiohttp.ClientSession, kb: Knowledge
) -> None:
    value = {"action": "feedback", "intent": "pcns-6025", "helpful": False, "lang": "en"}

    [reply] = await expect_replies(http, bot, submit(bot, value))

    card = card_of(reply)
    assert texts(card)[0] == kb.catalog.text("feedback_sorry", "en")
    assert submits(card) == [
        {"action": "escalate", "intent": "pcns-6025", "lang": "en", "question": ""}
    ]


async def test_choose_button_answers_that_topic(
    bot: str, http: aiohttp.ClientSession, kb: Knowledge
) -> None:
    value = {"action": "choose", "intent": "slow-full-sync"}

    [reply] = await expect_replies(http, bot, submit(bot, value))

    card = card_of(reply)
    assert title(card) == topic(kb, "slow-full-sync").title.en
    assert {d["intent"] for d in submits(card)} == {"slow-full-sync"}


@pytest.mark.parametrize(
    "value",
    [
        {"action": "bogus"},
        {"action": "choose", "intent": "no-such-topic"},
        {"action": "topic", "intent": 42},
        {"action": "feedback", "intent": "pcns-6025", "helpful": "no"},
        {"action": None, "intent": ["x"], "lang": {"en": 1}},
    ],
    ids=["bogus-action", "unknown-intent", "intent-not-str", "helpful-not-bool", "junk"],
)
async def test_invalid_button_data_gets_the_unknown_action_notice(
    bot: str, http: aiohttp.ClientSession, kb: Knowledge, value: dict[str, Any]
) -> None:
    [reply] = await expect_replies(http, bot, submit(bot, value))

    card = card_of(reply)
    assert texts(card) == [kb.catalog.text("unknown_action", "en")]
    assert submits(card) == []


# ---- conversationUpdate ----------------------------------------------------------------------


async def test_bot_and_user_added_get_one_welcome_card(
    bot: str, http: aiohttp.ClientSession, kb: Knowledge
) -> None:
    activity = teams_activity(
        bot,
        kind="conversationUpdate",
        membersAdded=[{"id": "28:mim-bot"}, {"id": "29:1ada"}],
    )

    [reply] = await expect_replies(http, bot, activity)

    card = card_of(reply)
    assert title(card) == kb.catalog.text("welcome_title", "en")
    assert submits(card) == [
        {"action": "topic", "intent": t.id, "lang": "en", "question": ""} for t in kb.catalog.topics
    ]
    assert len(submits(card)) == 7


# ---- rejections ------------------------------------------------------------------------------


def _valid(bot: str) -> dict[str, Any]:
    return teams_activity(bot, text="6025", deliveryMode="expectReplies")


def _without(bot: str, key: str) -> dict[str, Any]:
    activity = _valid(bot)
    del activity[key]
    return activity


_JSON = {"Content-Type": "application/json"}
REJECTIONS: list[tuple[str, Callable[[str], dict[str, Any]], int]] = [
    (
        "text/plain",
        lambda b: {"data": json.dumps(_valid(b)), "headers": {"Content-Type": "text/plain"}},
        415,
    ),
    ("malformed JSON", lambda b: {"data": b'{"type": "message",', "headers": _JSON}, 400),
    ("JSON array", lambda b: {"data": json.dumps([_valid(b)]), "headers": _JSON}, 400),
    ("no type", lambda b: {"json": _without(b, "type")}, 400),
    ("no serviceUrl", lambda b: {"json": _without(b, "serviceUrl")}, 400),
    ("non-loopback serviceUrl", lambda b: {"json": {**_valid(b), "serviceUrl": TEAMS_URL}}, 403),
]


@pytest.fixture
def outbound(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every URL the bot tries to reach through requests (msrest's transport); none goes out."""
    urls: list[str] = []

    def refuse(session: requests.Session, request: requests.PreparedRequest, **_: Any) -> None:
        urls.append(str(request.url))
        raise requests.ConnectionError("outbound HTTP is not allowed in this test")

    monkeypatch.setattr(requests.Session, "send", refuse)
    return urls


async def test_outbound_spy_sees_what_the_bot_sends(
    bot: str, http: aiohttp.ClientSession, outbound: list[str]
) -> None:
    # The positive control for "nothing sent anywhere" below.
    activity = teams_activity("http://127.0.0.1:9/", text="6025")

    status, _ = await post(http, bot, activity)

    assert status == 502
    reply_url = f"http://127.0.0.1:9/v3/conversations/a:1personal-chat/activities/{activity['id']}"
    assert [unquote(u) for u in outbound] == [reply_url, reply_url]  # the reply, the apology


@pytest.mark.parametrize(
    ("request_kwargs", "status"),
    [(r[1], r[2]) for r in REJECTIONS],
    ids=[r[0] for r in REJECTIONS],
)
async def test_rejections_have_a_reason_and_the_bot_keeps_serving(
    bot: str,
    http: aiohttp.ClientSession,
    kb: Knowledge,
    outbound: list[str],
    request_kwargs: Callable[[str], dict[str, Any]],
    status: int,
) -> None:
    got, body = await post(http, bot, None, **request_kwargs(bot))

    assert got == status
    assert isinstance(body["error"], str)
    assert body["error"]
    assert outbound == []
    await assert_still_serving(http, bot, kb)


async def test_body_over_the_limit_is_413(
    start_bot: StartBot, http: aiohttp.ClientSession, kb: Knowledge
) -> None:
    bot = await start_bot(Settings(port=0, max_body_bytes=2048))
    big = teams_activity(bot, text="6025 " + "x" * 10_000, deliveryMode="expectReplies")

    status, body = await post(http, bot, big)

    assert status == 413
    assert "2048" in body["error"]
    await assert_still_serving(http, bot, kb)


async def test_healthz(http: aiohttp.ClientSession, tmp_path: Path) -> None:
    # No knowledge passed: create_app loads and validates content/ itself.
    app = create_app(Settings(port=0, sqlite_path=tmp_path / "bot.db"))
    async with serve(app) as bot, http.get(f"{bot}/healthz") as resp:
        assert resp.status == 200
        assert await resp.json() == {"status": "ok", "topics": 7}


# ---- production mode: authentication -------------------------------------------------------


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def token(key: rsa.RSAPrivateKey | None, kid: str | None = "kid-1", **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "iss": AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER,
        "aud": APP_ID,
        "serviceurl": TEAMS_URL,
        "nbf": now - 60,
        "exp": now + 600,
        **claims,
    }
    payload = {k: v for k, v in payload.items() if v is not None}
    headers = {"kid": kid} if kid else None
    return jwt.encode(payload, key, algorithm="RS256" if key else "none", headers=headers)


async def assert_401(http: aiohttp.ClientSession, bot: str, authorization: str | None) -> None:
    activity = teams_activity(TEAMS_URL, text="6025", deliveryMode="expectReplies")
    headers = {"Authorization": authorization} if authorization is not None else {}
    started = time.perf_counter()
    status, body = await post(http, bot, activity, headers=headers)
    assert (status, body) == (401, {"error": "missing or invalid Bot Framework token"})
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize(
    "make_header",
    [
        lambda key: None,
        lambda key: "",
        lambda key: "Bearer garbage",
        lambda key: "Bearer ",
        lambda key: "Basic dXNlcjpwYXNz",
        lambda key: "Bearer a.b.c",
        lambda key: "Bearer " + token(None, iss="https://evil.example/"),
        lambda key: "Bearer " + token(key, iss="https://evil.example/"),
        lambda key: "Bearer " + jwt.encode({}, key, algorithm="RS256"),
    ],
    ids=[
        "no-header",
        "empty-header",
        "garbage",
        "bearer-empty",
        "basic",
        "not-base64",
        "unsigned-foreign-issuer",
        "self-signed-foreign-issuer",
        "self-signed-no-claims",
    ],
)
async def test_production_rejects_bad_credentials_offline(
    start_bot: StartBot,
    http: aiohttp.ClientSession,
    outbound: list[str],
    signing_key: rsa.RSAPrivateKey,
    make_header: Callable[[rsa.RSAPrivateKey], str | None],
) -> None:
    bot = await start_bot(PRODUCTION)

    await assert_401(http, bot, make_header(signing_key))

    assert outbound == []


# Known bug (see report): bot/messages.py only maps PermissionError/PyJWTError to 401; every
# other exception from the SDK's token validation becomes "502 could not deliver the reply".
AUTH_502_BUG = "bot/messages.py turns non-PyJWT auth failures into 502"


async def test_production_answers_503_when_the_signing_keys_cannot_be_fetched(
    start_bot: StartBot, http: aiohttp.ClientSession, signing_key: rsa.RSAPrivateKey
) -> None:
    # The SDK fetches the OpenID metadata (requests.get); offline it fails at once with
    # ConnectionError. The token cannot be judged, so the answer is "try later", never 500.
    bot = await start_bot(PRODUCTION)
    activity = teams_activity(TEAMS_URL, text="6025", deliveryMode="expectReplies")
    headers = {"Authorization": "Bearer " + token(signing_key)}
    status, body = await post(http, bot, activity, headers=headers)
    assert (status, body) == (503, {"error": "cannot validate the token right now"})


async def test_production_rejects_a_token_without_issuer(
    start_bot: StartBot, http: aiohttp.ClientSession, signing_key: rsa.RSAPrivateKey
) -> None:
    # emulator_validation.is_token_from_emulator reads token["iss"]: KeyError.
    bot = await start_bot(PRODUCTION)
    await assert_401(http, bot, "Bearer " + token(signing_key, iss=None))


@pytest.fixture
def published_key(monkeypatch: pytest.MonkeyPatch) -> rsa.RSAPrivateKey:
    """A key the SDK believes the Bot Framework published (as after a successful fetch)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="kid-1", endorsements=["msteams"])
    url = AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL
    metadata = _OpenIdMetadata(url)
    metadata.keys = [jwk]
    metadata.last_updated = datetime.now()
    monkeypatch.setitem(JwtTokenExtractor.metadataCache, url, metadata)
    return key


async def test_production_accepts_a_token_signed_by_the_published_key(
    start_bot: StartBot, http: aiohttp.ClientSession, published_key: rsa.RSAPrivateKey
) -> None:
    # The positive control for the rejections below: same request, right signature.
    bot = await start_bot(PRODUCTION)
    activity = teams_activity(TEAMS_URL, text="6025", deliveryMode="expectReplies")

    status, body = await post(
        http, bot, activity, headers={"Authorization": "Bearer " + token(published_key)}
    )

    assert status == 200
    assert card_of(body["activities"][0])["body"][0]["text"].startswith("PCNS")


@pytest.mark.parametrize(
    ("claims", "signed_by_published"),
    [
        ({}, False),
        ({"aud": "11111111-2222-4333-8444-555555555555"}, True),
        ({"exp": int(time.time()) - 3600}, True),
        ({"serviceurl": "https://evil.example/"}, True),
    ],
    ids=["forged-signature", "other-audience", "expired", "other-serviceurl"],
)
async def test_production_rejects_tokens_the_published_key_does_not_vouch_for(
    start_bot: StartBot,
    http: aiohttp.ClientSession,
    published_key: rsa.RSAPrivateKey,
    signing_key: rsa.RSAPrivateKey,
    claims: dict[str, Any],
    signed_by_published: bool,
) -> None:
    bot = await start_bot(PRODUCTION)
    key = published_key if signed_by_published else signing_key
    await assert_401(http, bot, "Bearer " + token(key, **claims))


async def test_production_rejects_a_token_with_an_unpublished_key_id(
    start_bot: StartBot,
    http: aiohttp.ClientSession,
    published_key: rsa.RSAPrivateKey,
    signing_key: rsa.RSAPrivateKey,
) -> None:
    # jwt_token_extractor._OpenIdMetadata._find indexes [0] into an empty list: IndexError.
    bot = await start_bot(PRODUCTION)
    await assert_401(http, bot, "Bearer " + token(signing_key, kid="kid-unknown"))


# ---- delivery failure ------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_unreachable_connector_is_502_and_the_loop_stays_free(
    bot: str, kb: Knowledge
) -> None:
    # Deliberately slow: msrest retries the POST (and the apology) before giving up (~10 s).
    activity = teams_activity(f"http://127.0.0.1:{_closed_port()}", text="6025")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        started = time.perf_counter()
        turn = asyncio.create_task(post(http, bot, activity))
        await asyncio.sleep(0.5)
        async with http.get(f"{bot}/healthz") as health:
            assert health.status == 200
        assert time.perf_counter() - started < 1.5  # the failing turn does not block the loop
        status, body = await turn
        elapsed = time.perf_counter() - started

    assert status == 502
    assert body["error"] == "could not deliver the reply"
    assert len(body["ref"]) == 12
    assert elapsed < 30, f"delivery failure took {elapsed:.1f} s"


def test_turn_results_are_json_whatever_encoder_writes_them() -> None:
    from bot.messages import json_body
    from bot.sending import SentCard

    card = SentCard(
        {"type": "AdaptiveCard", "body": [{"type": "TextBlock", "text": "Hei, på nytt"}]}
    )
    body = {"activities": [{"type": "message", "attachments": [{"content": card}]}]}
    fast = json_body(body, 200)
    assert fast.status == 200
    assert fast.content_type == "application/json"
    assert fast.charset == "utf-8"
    assert isinstance(fast.body, bytes)
    assert json.loads(fast.body) == body
    # What orjson refuses still goes out, through the standard library.
    odd = {"big": 2**70, "ok": True}
    assert json.loads(json_body(odd, 200).body) == odd  # type: ignore[arg-type]
