"""Start-up patches for botbuilder 4.17.1's dependencies (the SDK is archived; no upstream fix)."""

from __future__ import annotations

_applied = False


def apply_msrest_patch() -> None:
    """Make msrest's retry policy cheap to construct; it changes no behaviour.

    ``ClientRetryPolicy.__init__`` rebuilds a list comprehension over its 501-element
    ``safe_codes`` list for every client, at least twice per turn: ~80% of an echo bot's CPU.
    A frozenset answers the same membership test in O(1).
    """
    global _applied
    if _applied:
        return
    from msrest.universal_http.requests import ClientRetryPolicy

    # The annotation says list; only membership is ever asked of it.
    ClientRetryPolicy.safe_codes = frozenset(ClientRetryPolicy.safe_codes)  # type: ignore[assignment]
    _applied = True


_openid_applied = False
METADATA_TIMEOUT_S = 10.0


def apply_openid_patch() -> None:
    """Two fixes to the SDK's signing-key cache (botframework.connector.auth.jwt_token_extractor).

    - An unknown key id raised IndexError inside ``_find``, so the "refresh when a key is
      unknown (at most hourly)" branch never ran: after Microsoft rotates its keys, new tokens
      were refused for up to a day. ``_find`` now answers None for an unknown id.
    - ``_refresh`` fetched with synchronous ``requests`` and no timeout on the event loop: a
      slow login.botframework.com froze every conversation. It now fetches in a thread with a
      timeout.
    """
    global _openid_applied
    if _openid_applied:
        return
    import asyncio
    import json
    from datetime import datetime
    from typing import Any

    import requests
    from botframework.connector.auth import jwt_token_extractor as extractor
    from jwt.algorithms import RSAAlgorithm

    def find(self: Any, key_id: str) -> Any:
        for key in self.keys or []:
            if isinstance(key, dict) and key.get("kid") == key_id:
                public_key = RSAAlgorithm.from_jwk(json.dumps(key))
                return extractor._OpenIdConfig(public_key, key.get("endorsements", []))
        return None

    def fetch_keys(url: str) -> list[Any]:
        config = requests.get(url, timeout=METADATA_TIMEOUT_S)
        config.raise_for_status()
        keys = requests.get(config.json()["jwks_uri"], timeout=METADATA_TIMEOUT_S)
        keys.raise_for_status()
        found: list[Any] = keys.json()["keys"]
        return found

    async def refresh(self: Any) -> None:
        self.keys = await asyncio.to_thread(fetch_keys, self.url)
        self.last_updated = datetime.now()

    extractor._OpenIdMetadata._find = find
    extractor._OpenIdMetadata._refresh = refresh
    _openid_applied = True
