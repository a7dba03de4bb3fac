"""Authentication, with nothing leaving the machine.

Inbound: real Bot Framework tokens we sign ourselves, checked by the real app against a local
OpenID metadata + JWKS endpoint (a thread: the SDK fetches it with blocking ``requests`` on the
event loop, a server on that loop would deadlock). Each case runs on both SDK paths: the one a
configured ``OPENID_METADATA_URL`` selects ("configured") and the production default, pointed
at the same endpoint ("default").

Outbound: ``bot.credentials`` with a fake MSAL: one token per app id, fetched and refreshed in
worker threads, never on the event loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import jwt
import pytest
import requests
from aiohttp import web
from botbuilder.integration.aiohttp import ConfigurationServiceClientCredentialFactory
from botbuilder.schema import Activity
from botframework.connector.auth import AuthenticationConstants, ChannelValidation
from botframework.connector.auth import microsoft_app_credentials as sdk_app_credentials
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor
from cryptography.hazmat.primitives.asymmetric import rsa
from fake_connector import FakeConnector, serve
from jwt.algorithms import RSAAlgorithm

import bot.credentials as credentials_module
from bot.adapter import create_adapter
from bot.app import create_app
from bot.credentials import CachingCredentialFactory, SharedTokenCredentials
from bot.settings import Settings, SettingsError, is_loopback_host
from intents.knowledge import Knowledge
from intents.load import load_knowledge

APP_ID = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
TENANT = "5f2c6d1e-0b7a-4c3e-9a41-7d2e8b6f1c90"
TEAMS_URL = "https://smba.trafficmanager.net/emea/"
ISSUER = AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER  # https://api.botframework.com
SCOPE = AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE
LOGIN = AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL_PREFIX
KID = "kid-1"
REJECTED = {"error": "missing or invalid Bot Framework token"}
PRODUCTION = Settings(app_id=APP_ID, app_password="x", tenant_id=TENANT, app_type="SingleTenant")


# ---- a local OpenID metadata + JWKS endpoint ------------------------------------------------


class Jwks:
    """Serves /.well-known/openidconfiguration and /keys from a thread; records every GET."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
        # Bot Framework keys carry the channels they vouch for; the SDK requires the
        # activity's channelId among them when the list is there.
        jwk.update(kid=KID, use="sig", endorsements=["msteams"])
        self.keys = [jwk]
        self.requests: list[str] = []
        jwks = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                jwks.requests.append(self.path)
                if self.path == "/.well-known/openidconfiguration":
                    body: Any = {
                        "issuer": ISSUER,
                        "jwks_uri": f"{jwks.base}/keys",
                        "id_token_signing_alg_values_supported": ["RS256"],
                    }
                elif self.path == "/keys":
                    body = {"keys": jwks.keys}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.metadata_url = f"{self.base}/.well-known/openidconfiguration"


@pytest.fixture(scope="module")
def published_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def rogue_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks(published_key: rsa.RSAPrivateKey) -> Iterator[Jwks]:
    served = Jwks(published_key)
    thread = threading.Thread(target=served.server.serve_forever, daemon=True)
    thread.start()
    yield served
    served.server.shutdown()
    served.server.server_close()
    thread.join(5)


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every non-loopback URL anything tries through requests (SDK, MSAL, msrest) is refused."""
    refused: list[str] = []
    send = requests.adapters.HTTPAdapter.send

    def loopback_only(adapter: Any, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        if not is_loopback_host(urlsplit(str(request.url)).hostname or ""):
            refused.append(str(request.url))
            raise requests.ConnectionError(f"no network in tests: {request.url}")
        return send(adapter, request, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", loopback_only)
    return refused


@pytest.fixture(autouse=True)
def fresh_signing_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    # The SDK caches signing keys per URL in a class attribute for a day: start each test cold,
    # so that each one really fetches them from the local endpoint.
    monkeypatch.setattr(JwtTokenExtractor, "metadataCache", {})


@pytest.fixture(params=["configured", "default"])
def production(
    request: pytest.FixtureRequest, jwks: Jwks, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Settings:
    """Production settings whose token checks use the local endpoint, on either SDK path."""
    settings = dataclasses.replace(PRODUCTION, port=0, sqlite_path=tmp_path / "bot.db")
    if request.param == "configured":
        # OPENID_METADATA_URL: the SDK's parameterized authentication.
        return dataclasses.replace(settings, openid_metadata_url=jwks.metadata_url)
    # No URL: the built-in public cloud authentication production runs, whose channel
    # validation reads the metadata URL from this class attribute when it is set.
    monkeypatch.setattr(ChannelValidation, "open_id_metadata_endpoint", jwks.metadata_url)
    return settings


@pytest.fixture(scope="module")
def kb() -> Knowledge:
    return load_knowledge()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        yield session


# ---- tokens and activities -------------------------------------------------------------------


def token(
    key: rsa.RSAPrivateKey | str | None,
    kid: str | None = KID,
    algorithm: str = "RS256",
    service_url: str = TEAMS_URL,
    **claims: Any,
) -> str:
    """A Bot Framework channel token; a claim given as None is left out."""
    now = int(time.time())
    payload = {
        "iss": ISSUER,
        "aud": APP_ID,
        "serviceurl": service_url,
        "nbf": now - 60,
        "exp": now + 600,
        **claims,
    }
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid} if kid else None)


def activity(service_url: str = TEAMS_URL, **fields: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "id": f"1680{uuid.uuid4().int % 10**9:09d}",
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {"id": "29:1ada", "name": "Ada Admin", "aadObjectId": str(uuid.uuid4())},
        "conversation": {"id": "a:1personal-chat", "conversationType": "personal"},
        "recipient": {"id": f"28:{APP_ID}", "name": "MIM Bot"},
        "locale": "en-US",
        "text": "6025",
        "channelData": {"tenant": {"id": TENANT}},
        **fields,
    }


@dataclass(frozen=True)
class Keys:
    published: rsa.RSAPrivateKey
    rogue: rsa.RSAPrivateKey


@dataclass(frozen=True)
class Case:
    """A bearer token and who turns it down, on the configured and on the default path.

    ``rejected_by`` names the exception the SDK raises: PermissionError is the SDK's own "401";
    anything else escapes the SDK and only bot/messages.py's catch-all makes it a 401 (the stock
    CloudAdapter.process answers it with 500).
    """

    name: str
    header: Callable[[Keys], str | None]
    rejected_by: tuple[str, str]  # (configured, default); "" = accepted


NOW = int(time.time())
CASES = [
    Case("valid", lambda k: "Bearer " + token(k.published), ("", "")),
    Case("missing-authorization", lambda k: None, ("AttributeError", "PermissionError")),
    Case("bearer-garbage", lambda k: "Bearer garbage", ("DecodeError", "DecodeError")),
    Case(
        "jwt-two-segments",
        lambda k: "Bearer " + token(k.published).rsplit(".", 1)[0],
        ("DecodeError", "DecodeError"),
    ),
    Case(
        "expired",  # beyond the SDK's 5 minutes of clock tolerance
        lambda k: "Bearer " + token(k.published, nbf=NOW - 7200, exp=NOW - 3600),
        ("ExpiredSignatureError", "ExpiredSignatureError"),
    ),
    Case(
        "not-yet-valid",
        lambda k: "Bearer " + token(k.published, nbf=NOW + 3600, exp=NOW + 7200),
        ("ImmatureSignatureError", "ImmatureSignatureError"),
    ),
    Case(
        "wrong-audience",
        lambda k: "Bearer " + token(k.published, aud="11111111-2222-4333-8444-555555555555"),
        ("PermissionError", "PermissionError"),
    ),
    Case(
        "wrong-issuer",
        lambda k: "Bearer " + token(k.published, iss="https://evil.example/"),
        ("PermissionError", "PermissionError"),
    ),
    Case(
        "other-key-same-kid",
        lambda k: "Bearer " + token(k.rogue),
        ("InvalidSignatureError", "InvalidSignatureError"),
    ),
    Case(
        "unknown-kid",
        lambda k: "Bearer " + token(k.rogue, kid="kid-unknown"),
        # bot.patches: an unknown kid finds no key (it used to raise IndexError before the
        # hourly refresh could run); with no key the SDK fails on None.
        ("AttributeError", "AttributeError"),
    ),
    Case(
        "alg-none",
        lambda k: "Bearer " + token(None, algorithm="none"),
        ("Exception", "Exception"),
    ),
    Case(
        "alg-hs256-public-key-confusion",
        # HMAC-signed with a secret the attacker chose; only RS* may pass.
        lambda k: "Bearer " + token("s" * 64, algorithm="HS256"),
        ("Exception", "Exception"),
    ),
    Case(
        "serviceurl-mismatch",
        lambda k: "Bearer " + token(k.published, service_url="https://evil.example/"),
        ("PermissionError", "PermissionError"),
    ),
    Case("no-iss", lambda k: "Bearer " + token(k.published, iss=None), ("KeyError", "KeyError")),
    Case("basic-scheme", lambda k: "Basic dXNlcjpwYXNz", ("PermissionError", "PermissionError")),
]


def path_index(settings: Settings) -> int:
    return 0 if settings.openid_metadata_url else 1


# ---- inbound: the case table over HTTP -------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_bearer_tokens_over_http(
    case: Case,
    production: Settings,
    kb: Knowledge,
    http: aiohttp.ClientSession,
    jwks: Jwks,
    published_key: rsa.RSAPrivateKey,
    rogue_key: rsa.RSAPrivateKey,
    offline: list[str],
) -> None:
    header = case.header(Keys(published_key, rogue_key))
    headers = {"Authorization": header} if header is not None else {}
    fetched_before = len(jwks.requests)

    async with serve(create_app(production, kb)) as bot:
        started = time.perf_counter()
        body = activity(deliveryMode="expectReplies")
        async with http.post(f"{bot}/api/messages", json=body, headers=headers) as resp:
            status, answer = resp.status, await resp.json()
        elapsed = time.perf_counter() - started

    assert elapsed < 2, f"{case.name} took {elapsed:.2f} s"
    if case.rejected_by[path_index(production)]:
        assert (status, answer) == (401, REJECTED)
    else:
        assert status == 200, answer
        [reply] = answer["activities"]
        card = reply["attachments"][0]["content"]
        assert card["type"] == "AdaptiveCard"
        assert card["body"][0]["text"].startswith("PCNS")
        # The keys came from the local endpoint, not from a cache or the internet.
        assert jwks.requests[fetched_before:] == ["/.well-known/openidconfiguration", "/keys"]
    assert offline == []  # expectReplies needs no outbound token: Entra ID never asked


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_who_turns_each_token_down(
    case: Case,
    production: Settings,
    kb: Knowledge,
    published_key: rsa.RSAPrivateKey,
    rogue_key: rsa.RSAPrivateKey,
) -> None:
    # The same check the /api/messages handler makes, without the handler's catch-all.
    auth = create_adapter(production, kb.catalog).bot_framework_authentication
    header = case.header(Keys(published_key, rogue_key)) or ""
    expected = case.rejected_by[path_index(production)]
    incoming = Activity().deserialize(activity())

    if not expected:
        result = await auth.authenticate_request(incoming, header)
        assert result.claims_identity.claims["aud"] == APP_ID
        return
    with pytest.raises(Exception) as caught:  # noqa: PT011 - the type is the finding
        await auth.authenticate_request(incoming, header)
    assert type(caught.value).__name__ == expected, repr(caught.value)


async def test_a_configured_metadata_url_keeps_the_public_cloud_values(
    jwks: Jwks, kb: Knowledge, published_key: rsa.RSAPrivateKey
) -> None:
    # The SDK's parameterized path leaves everything not configured as None; with a None
    # issuer, a validly signed token without "iss" would pass. Settings fill them in.
    settings = dataclasses.replace(PRODUCTION, openid_metadata_url=jwks.metadata_url)
    config = settings.sdk_config()
    assert getattr(config, "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER") == ISSUER  # noqa: B009
    assert getattr(config, "TO_CHANNEL_FROM_BOT_LOGIN_URL") == LOGIN  # noqa: B009
    auth = create_adapter(settings, kb.catalog).bot_framework_authentication
    incoming = Activity().deserialize(activity())

    result = await auth.authenticate_request(incoming, "Bearer " + token(published_key))

    assert result.audience == SCOPE
    public = create_adapter(PRODUCTION, kb.catalog).bot_framework_authentication
    assert result.caller_id == public._inner._caller_id
    factory = result.connector_factory
    assert (factory._login_endpoint, factory._to_channel_from_bot_oauth_scope) == (LOGIN, SCOPE)


# ---- settings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://login.botframework.com/v1/.well-known/openidconfiguration",
        "http://127.0.0.1:8080/.well-known/openidconfiguration",
        "http://localhost/.well-known/openidconfiguration",
        "http://[::1]:9/x",
    ],
)
def test_openid_metadata_url_accepted(url: str) -> None:
    env = {
        "MicrosoftAppId": APP_ID,
        "MicrosoftAppPassword": "x",
        "MicrosoftAppTenantId": TENANT,
        "OPENID_METADATA_URL": f" {url} ",
    }
    settings = Settings.from_env(env)
    assert settings.openid_metadata_url == url
    assert getattr(settings.sdk_config(), "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL") == url  # noqa: B009


@pytest.mark.parametrize(
    "url",
    [
        "http://login.botframework.com/v1/.well-known/openidconfiguration",
        "http://10.0.0.5/keys",
        "ftp://127.0.0.1/keys",
        "login.botframework.com/v1/.well-known/openidconfiguration",
        "https:///no-host",
        "http://[::1/broken",
    ],
)
@pytest.mark.parametrize("app_id", [APP_ID, ""], ids=["production", "local"])
def test_openid_metadata_url_must_be_https_or_loopback(url: str, app_id: str) -> None:
    env = {
        "MicrosoftAppId": app_id,
        "MicrosoftAppPassword": "x",
        "MicrosoftAppTenantId": TENANT,
        "OPENID_METADATA_URL": url,
    }
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert [p for p in caught.value.problems if "OPENID_METADATA_URL" in p]


def test_without_a_metadata_url_the_sdk_keeps_its_defaults() -> None:
    for settings in (PRODUCTION, Settings(openid_metadata_url="http://127.0.0.1:9/x")):
        # Production without the setting, and local mode (which ignores it).
        config = settings.sdk_config()
        assert not hasattr(config, "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL")
        assert not hasattr(config, "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER")


# ---- outbound: a fake Entra ID behind MSAL ---------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


class FakeEntra:
    """Stands in for MSAL's ConfidentialClientApplication: counts apps and token requests."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.apps: list[tuple[str, str]] = []  # (client id, authority) per MSAL app built
        self.fetch_threads: list[int] = []  # the thread of each token request
        self.lifetimes: list[int] = []  # consumed one per token; then 3600
        self.failures = 0  # the next n token requests fail
        self.delay = 0.0
        self.gate = threading.Event()  # cleared: token requests wait for it
        self.gate.set()
        self.asked = threading.Event()  # set by each token request, as it arrives
        self._lock = threading.Lock()

    def issue(self) -> dict[str, Any]:
        with self._lock:
            self.fetch_threads.append(threading.get_ident())
            number = len(self.fetch_threads)
            lifetime = self.lifetimes.pop(0) if self.lifetimes else 3600
            fail = self.failures > 0
            self.failures -= fail
        self.asked.set()
        assert self.gate.wait(10)
        time.sleep(self.delay)
        if fail:
            return {"error": "temporarily_unavailable", "error_description": "try later"}
        exp = int(self.clock()) + lifetime
        claims = {"aud": SCOPE, "exp": exp, "n": number}
        access_token = jwt.encode(claims, "entra-signing-secret" * 4, algorithm="HS256")
        return {"access_token": access_token, "token_type": "Bearer", "expires_in": lifetime}

    def msal_class(self) -> type:
        entra = self

        class FakeConfidentialClientApplication:
            def __init__(self, client_id: str, client_credential: Any, authority: str) -> None:
                entra.apps.append((client_id, authority))

            def acquire_token_silent(self, scopes: list[str], account: Any) -> None:
                return None  # every token request counts as one to Entra ID

            def acquire_token_for_client(self, scopes: list[str]) -> dict[str, Any]:
                assert scopes == [f"{SCOPE}/.default"]
                return entra.issue()

        return FakeConfidentialClientApplication


@pytest.fixture
def entra(monkeypatch: pytest.MonkeyPatch) -> FakeEntra:
    fake = FakeEntra()
    monkeypatch.setattr(sdk_app_credentials, "ConfidentialClientApplication", fake.msal_class())
    return fake


@pytest.fixture
def clocked_entra(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeEntra, Clock]:
    clock = Clock()
    fake = FakeEntra(clock)
    monkeypatch.setattr(sdk_app_credentials, "ConfidentialClientApplication", fake.msal_class())
    return fake, clock


def caching_factory(clock: Callable[[], float] = time.time) -> CachingCredentialFactory:
    sdk = ConfigurationServiceClientCredentialFactory(PRODUCTION.sdk_config())
    return CachingCredentialFactory(sdk, clock)


@asynccontextmanager
async def loop_lag() -> AsyncIterator[list[float]]:
    """The gaps between 5 ms ticks on the event loop: a blocking call shows as a long gap."""
    gaps: list[float] = []
    stop = asyncio.Event()

    async def tick() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    try:
        yield gaps
    finally:
        stop.set()
        await ticker


def bearer_of(session: requests.Session) -> str:
    """What requests would send: prepares a request the way msrest's worker thread does."""
    prepared = session.prepare_request(requests.Request("POST", "https://connector.invalid/v3"))
    return str(prepared.headers["Authorization"])


async def test_the_sdk_credentials_block_the_loop_for_the_whole_fetch(entra: FakeEntra) -> None:
    # The control for the lag meter, and the problem: one fetch per turn, on the loop.
    entra.delay = 0.3
    sdk = ConfigurationServiceClientCredentialFactory(PRODUCTION.sdk_config())
    async with loop_lag() as gaps:
        first = await sdk.create_credentials(APP_ID, SCOPE, LOGIN, True)
        first.signed_session(requests.Session())  # what msrest does on the loop
        second = await sdk.create_credentials(APP_ID, SCOPE, LOGIN, True)
        second.signed_session(requests.Session())
        await asyncio.sleep(0.02)

    assert first is not second
    assert len(entra.apps) == 2  # a new MSAL app, with an empty cache, per turn
    assert entra.fetch_threads == [threading.get_ident()] * 2  # on the event loop's thread
    assert max(gaps) >= 0.3


async def test_twenty_concurrent_turns_share_one_token_fetched_off_the_loop(
    entra: FakeEntra,
) -> None:
    entra.delay = 0.3
    factory = caching_factory()
    loop_thread = threading.get_ident()

    async def turn() -> tuple[Any, str]:
        credentials = await factory.create_credentials(APP_ID, SCOPE, LOGIN, True)
        session = credentials.signed_session(requests.Session())  # on the loop, as msrest does
        return credentials, await asyncio.to_thread(bearer_of, session)

    async with loop_lag() as gaps:
        started = time.perf_counter()
        results = await asyncio.gather(*(turn() for _ in range(20)))
        elapsed = time.perf_counter() - started

    [credentials] = {id(c): c for c, _ in results}.values()
    assert isinstance(credentials, SharedTokenCredentials)
    assert credentials.microsoft_app_id == APP_ID  # the SDK's attributes pass through
    assert len(entra.apps) == 1
    assert len(entra.fetch_threads) == 1
    assert entra.fetch_threads[0] != loop_thread
    assert {header for _, header in results} == {f"Bearer {credentials.get_access_token()}"}
    assert elapsed < 1.5
    # While a 0.3 s fetch ran, the loop never stalled (the control above shows >= 0.3 s).
    assert max(gaps) < 0.1, f"event loop blocked for {max(gaps):.3f} s"


async def test_signed_session_on_the_loop_fetches_nothing(entra: FakeEntra) -> None:
    factory = caching_factory()
    credentials = await factory.create_credentials(APP_ID, SCOPE, LOGIN, True)
    session = requests.Session()
    session.headers["Authorization"] = "Bearer stale"

    assert credentials.signed_session(session) is session

    assert entra.fetch_threads == []
    assert "Authorization" not in session.headers
    assert (await asyncio.to_thread(bearer_of, session)).startswith("Bearer ey")
    assert len(entra.fetch_threads) == 1


async def test_a_token_near_expiry_is_refreshed_in_the_background(entra: FakeEntra) -> None:
    entra.lifetimes = [200]  # usable, but inside the 290 s refresh margin
    factory = caching_factory()
    credentials = await factory.create_credentials(APP_ID, SCOPE, LOGIN, True)
    old = await asyncio.to_thread(credentials.get_access_token)
    entra.gate.clear()  # the refresh will hang until released
    entra.asked.clear()

    started = time.perf_counter()
    again = await factory.create_credentials(APP_ID, SCOPE, LOGIN, True)  # the next turn
    asked = time.perf_counter() - started
    assert await asyncio.to_thread(entra.asked.wait, 5)  # the refresh reached "Entra ID"
    during = time.perf_counter()
    served = credentials.get_access_token()  # on the loop, mid-refresh: no wait
    served_in = time.perf_counter() - during
    await factory.create_credentials(APP_ID, SCOPE, LOGIN, True)  # no second refresh
    entra.gate.set()
    await factory.wait_for_refreshes()

    assert again is credentials
    assert asked < 0.05
    assert (served, served_in < 0.01) == (old, True)
    assert entra.fetch_threads[1] != threading.get_ident()
    new = credentials.get_access_token()
    assert new != old
    assert len(entra.fetch_threads) == 2
    assert len(entra.apps) == 1  # the same MSAL app (and cache) all along
    await factory.create_credentials(APP_ID, SCOPE, LOGIN, True)
    await factory.wait_for_refreshes()
    assert len(entra.fetch_threads) == 2  # fresh again: nothing more to do


async def test_a_failed_refresh_keeps_the_old_token_and_retries_later(
    clocked_entra: tuple[FakeEntra, Clock], caplog: pytest.LogCaptureFixture
) -> None:
    entra, clock = clocked_entra
    entra.lifetimes = [200]
    factory = caching_factory(clock)
    credentials = await factory.create_credentials(APP_ID, SCOPE, LOGIN, True)
    old = await asyncio.to_thread(credentials.get_access_token)
    entra.failures = 1

    with caplog.at_level(logging.WARNING, logger=credentials_module.__name__):
        await factory.create_credentials(APP_ID, SCOPE, LOGIN, True)
        await factory.wait_for_refreshes()
    assert "token refresh failed" in caplog.text
    assert credentials.get_access_token() == old
    assert len(entra.fetch_threads) == 2

    await factory.create_credentials(APP_ID, SCOPE, LOGIN, True)  # within the back-off
    await factory.wait_for_refreshes()
    assert len(entra.fetch_threads) == 2

    clock.now += 31
    await factory.create_credentials(APP_ID, SCOPE, LOGIN, True)
    await factory.wait_for_refreshes()
    assert len(entra.fetch_threads) == 3
    assert credentials.get_access_token() != old


async def test_an_expired_token_is_fetched_again_by_the_sender_thread(
    clocked_entra: tuple[FakeEntra, Clock],
) -> None:
    # Idle for longer than a token lives: the next sender fetches, in its own thread.
    entra, clock = clocked_entra
    factory = caching_factory(clock)
    credentials = await factory.create_credentials(APP_ID, SCOPE, LOGIN, True)
    session = credentials.signed_session(requests.Session())
    first = await asyncio.to_thread(bearer_of, session)

    clock.now += 3600 - 30  # 30 s left: too little to sign a request with
    second = await asyncio.to_thread(bearer_of, session)

    assert first != second
    assert len(entra.fetch_threads) == 2
    assert threading.get_ident() not in entra.fetch_threads


async def test_each_app_id_scope_endpoint_and_authority_gets_its_own_credentials() -> None:
    made: list[tuple[Any, ...]] = []

    class SdkCredentials:
        def __init__(self, app_id: str) -> None:
            self.microsoft_app_id = app_id

        def get_access_token(self) -> str:
            return f"token-of-{self.microsoft_app_id}"

    class SdkFactory:
        async def create_credentials(self, *key: Any) -> SdkCredentials:
            made.append(key)
            return SdkCredentials(key[0])

    factory = CachingCredentialFactory(SdkFactory())
    keys = [
        ("app-a", SCOPE, LOGIN, True),
        ("app-b", SCOPE, LOGIN, True),
        ("app-a", "https://api.botframework.us", LOGIN, True),
        ("app-a", SCOPE, "https://login.microsoftonline.us/", True),
        ("app-a", SCOPE, LOGIN, False),
    ]

    first = [await factory.create_credentials(*key) for key in keys]
    second = [await factory.create_credentials(*key) for key in reversed(keys)]

    assert len({id(c) for c in first}) == len(keys)
    assert second == list(reversed(first))
    assert made == keys  # the SDK's factory asked once per key
    assert [await asyncio.to_thread(c.get_access_token) for c in first[:2]] == [
        "token-of-app-a",
        "token-of-app-b",
    ]


async def test_local_mode_credentials_stay_anonymous() -> None:
    sdk = ConfigurationServiceClientCredentialFactory(Settings().sdk_config())
    factory = CachingCredentialFactory(sdk)
    assert await factory.is_authentication_disabled()

    credentials = await factory.create_credentials(None, SCOPE, LOGIN, True)

    assert not isinstance(credentials, SharedTokenCredentials)
    session = credentials.signed_session(requests.Session())
    assert "Authorization" not in session.headers


# ---- outbound end to end -----------------------------------------------------------------------


class RecordingConnector(FakeConnector):
    """The fake connector, also keeping the Authorization header of each request."""

    def __init__(self) -> None:
        super().__init__()
        self.authorization: list[str | None] = []

    async def _record(self, request: web.Request) -> None:
        self.authorization.append(request.headers.get("Authorization"))
        await super()._record(request)


async def test_normal_mode_turns_reuse_one_credentials_object_and_token(
    production: Settings,
    kb: Knowledge,
    http: aiohttp.ClientSession,
    published_key: rsa.RSAPrivateKey,
    entra: FakeEntra,
    offline: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handed_out: list[Any] = []
    create = CachingCredentialFactory.create_credentials

    async def spy(self: CachingCredentialFactory, *args: Any, **kwargs: Any) -> Any:
        credentials = await create(self, *args, **kwargs)
        handed_out.append(credentials)
        return credentials

    monkeypatch.setattr(CachingCredentialFactory, "create_credentials", spy)
    entra.gate.clear()  # the first token request hangs until released

    async with (
        RecordingConnector().running() as connector,
        serve(create_app(production, kb)) as bot,
    ):
        header = {"Authorization": "Bearer " + token(published_key, service_url=connector.url)}

        async def turn() -> int:
            body = activity(connector.url)
            async with http.post(f"{bot}/api/messages", json=body, headers=header) as resp:
                return resp.status

        first = asyncio.create_task(turn())
        assert await asyncio.to_thread(entra.asked.wait, 5)  # the reply waits for its token
        started = time.perf_counter()
        async with http.get(f"{bot}/healthz") as health:
            assert health.status == 200
        healthz_s = time.perf_counter() - started
        entra.gate.set()
        statuses = [await first, await turn()]

    assert statuses == [201, 201]
    assert healthz_s < 0.5  # the bot kept serving while the token fetch hung
    assert len(handed_out) >= 2
    assert len({id(c) for c in handed_out}) == 1
    assert len(entra.apps) == 1
    assert entra.apps[0][1] == f"{LOGIN}{TENANT}"  # SingleTenant: the bot's own tenant
    assert len(entra.fetch_threads) == 1
    assert entra.fetch_threads[0] != threading.get_ident()
    replies = connector.sent("POST", "/activities/")
    assert len(replies) == 2
    bearer = f"Bearer {handed_out[0].get_access_token()}"
    assert connector.authorization == [bearer, bearer]
    assert offline == []


async def test_a_rotated_signing_key_is_fetched_instead_of_refused_for_a_day(
    production: Settings, kb: Knowledge, jwks: Jwks, published_key: rsa.RSAPrivateKey
) -> None:
    # Microsoft publishes a new key; tokens signed with it must pass once the hourly refresh
    # for unknown key ids may run (the unpatched SDK raised before it could).
    auth = create_adapter(production, kb.catalog).bot_framework_authentication
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    first = await auth.authenticate_request(
        Activity().deserialize(activity()), "Bearer " + token(published_key)
    )
    assert first.claims_identity.is_authenticated
    kid = f"kid-rotated-{uuid.uuid4().hex[:8]}"
    rotated = json.loads(RSAAlgorithm.to_jwk(new_key.public_key()))
    rotated.update(kid=kid, use="sig", endorsements=["msteams"])
    published = jwks.keys
    jwks.keys = [*published, rotated]
    try:
        for metadata in JwtTokenExtractor.metadataCache.values():
            metadata.last_updated -= timedelta(hours=2)  # the last refresh is over an hour old
        result = await auth.authenticate_request(
            Activity().deserialize(activity()), "Bearer " + token(new_key, kid=kid)
        )
    finally:
        jwks.keys = published
    assert result.claims_identity.claims["aud"] == APP_ID
