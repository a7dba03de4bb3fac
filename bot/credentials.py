"""One outbound token per app id, fetched and refreshed off the event loop.

botbuilder 4.17.1 builds new credentials (a new MSAL app with an empty token cache) for every
turn, and msrest calls their synchronous ``get_access_token()`` from ``signed_session()`` on the
event loop: a blocking round trip to Entra ID per turn (notes, section 2).

``CachingCredentialFactory`` keeps one credentials object per (app id, scope, login endpoint,
validate_authority), wrapped in ``SharedTokenCredentials``:

- ``signed_session()`` (msrest calls it on the event loop) fetches nothing: it installs a
  ``requests`` auth hook, which runs when requests prepares the request, in the executor thread
  msrest sends from. Only there is a missing or expired token fetched, once for all senders.
- When a turn asks for credentials and the token has less than ``REFRESH_MARGIN_S`` left, a
  background thread refreshes it while senders keep using the old one, which is still valid.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import jwt
import requests
from botframework.connector.auth import AuthenticationConstants, ServiceClientCredentialsFactory
from msrest.authentication import Authentication

log = logging.getLogger(__name__)

# MSAL hands out a cached token until 5 minutes before it expires; refreshing just inside that
# window makes the refresh fetch a new one instead of getting the old one back.
REFRESH_MARGIN_S = 290.0
MIN_LIFETIME_S = 60.0  # a token must outlive the request it signs
OPAQUE_LIFETIME_S = 600.0  # expiry unreadable: assume Entra ID's shortest token lifetime
RETRY_AFTER_FAILURE_S = 30.0  # no background refresh this soon after a failed one

Key = tuple[str | None, str | None, str | None, bool | None]


def token_expiry(token: str, now: float) -> float:
    """When ``token`` expires: its JWT ``exp``, or a cautious guess for an opaque token."""
    try:
        exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    except jwt.PyJWTError:
        exp = None
    return float(exp) if isinstance(exp, int | float) else now + OPAQUE_LIFETIME_S


class SharedTokenCredentials(Authentication):
    """The SDK's credentials for one key, sharing one token; other attributes pass through."""

    def __init__(self, inner: Any, clock: Callable[[], float] = time.time) -> None:
        self.inner = inner
        self._clock = clock
        self._lock = threading.Lock()  # one fetch at a time, whatever thread asks
        # (token, expires at), replaced in one assignment: readers outside the lock never see
        # a token with another token's expiry.
        self._current: tuple[str, float] | None = None
        self._refreshing = False  # only touched on the event loop
        self._next_refresh = 0.0

    def __getattr__(self, name: str) -> Any:
        # Only for attributes not found here: microsoft_app_id, oauth_scope, ... of the SDK's.
        inner = self.__dict__.get("inner")
        if inner is None:
            raise AttributeError(name)
        return getattr(inner, name)

    def signed_session(self, session: requests.Session | None = None) -> requests.Session:
        """Called by msrest on the event loop: installs the token hook, fetches nothing."""
        session = session or requests.Session()
        session.headers.pop("Authorization", None)
        session.auth = self._sign
        return session

    def _sign(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        # requests calls this while preparing the request, in the thread that sends it.
        request.headers["Authorization"] = f"Bearer {self.get_access_token()}"
        return request

    def get_access_token(self, force_refresh: bool = False) -> str:
        """The shared token; the caller waits for a fetch only when none is usable."""
        if not force_refresh and (token := self._usable()):
            return token
        with self._lock:
            if not force_refresh and (token := self._usable()):
                return token  # fetched by another thread while this one waited
            return self._fetch()

    def _left_s(self) -> float:
        """Seconds the current token has left; -inf before the first fetch."""
        current = self._current
        return current[1] - self._clock() if current else float("-inf")

    def _usable(self) -> str | None:
        current = self._current
        return current[0] if current and current[1] - self._clock() > MIN_LIFETIME_S else None

    def _fetch(self) -> str:  # with the lock held
        token: str = self.inner.get_access_token()
        self._current = (token, token_expiry(token, self._clock()))
        return token

    def _refresh(self) -> None:  # in a worker thread
        with self._lock:
            if self._left_s() < REFRESH_MARGIN_S:  # unless another thread just did
                self._fetch()

    def refresh_in_background(self) -> asyncio.Task[None] | None:
        """Start refreshing a token that has been used and is about to expire; on the loop."""
        if (
            self._refreshing
            or self._current is None
            or self._left_s() >= REFRESH_MARGIN_S
            or self._clock() < self._next_refresh
        ):
            return None
        self._refreshing = True
        return asyncio.create_task(self._refresh_off_loop())

    async def _refresh_off_loop(self) -> None:
        try:
            await asyncio.to_thread(self._refresh)
        except Exception as exc:
            # The old token serves until it expires; then a sender fetches (in its thread).
            self._next_refresh = self._clock() + RETRY_AFTER_FAILURE_S
            log.warning(
                "token refresh failed app_id=%s: %s: %s",
                self.inner.microsoft_app_id,
                type(exc).__name__,
                exc,
            )
        finally:
            self._refreshing = False


class CachingCredentialFactory(ServiceClientCredentialsFactory):  # type: ignore[misc]
    """Wraps the SDK's factory: the same credentials (and token) for every turn, see module doc."""

    def __init__(  # inner: a ServiceClientCredentialsFactory
        self, inner: Any, clock: Callable[[], float] = time.time
    ) -> None:
        self._inner = inner
        self._clock = clock
        self._credentials: dict[Key, Any] = {}
        self._refreshes: set[asyncio.Task[None]] = set()

    async def is_valid_app_id(self, app_id: str) -> bool:
        return bool(await self._inner.is_valid_app_id(app_id))

    async def is_authentication_disabled(self) -> bool:
        return bool(await self._inner.is_authentication_disabled())

    async def create_credentials(
        self,
        app_id: str | None,
        oauth_scope: str | None,
        login_endpoint: str | None,
        validate_authority: bool | None,
    ) -> Any:
        key: Key = (app_id, oauth_scope, login_endpoint, validate_authority)
        credentials = self._credentials.get(key)
        if credentials is None:
            made = await self._inner.create_credentials(
                app_id, oauth_scope, login_endpoint, validate_authority
            )
            signs = getattr(made, "microsoft_app_id", None) not in (
                None,
                "",
                AuthenticationConstants.ANONYMOUS_SKILL_APP_ID,
            )
            # setdefault: a concurrent turn may have stored one meanwhile; keep the first.
            credentials = self._credentials.setdefault(
                key, SharedTokenCredentials(made, self._clock) if signs else made
            )
        if isinstance(credentials, SharedTokenCredentials):
            task = credentials.refresh_in_background()
            if task is not None:
                self._refreshes.add(task)
                task.add_done_callback(self._refreshes.discard)
        return credentials

    async def wait_for_refreshes(self) -> None:
        """Until the background refreshes started so far have finished (tests, shutdown)."""
        if self._refreshes:
            await asyncio.gather(*self._refreshes)
