"""Start-up patches for botbuilder 4.17.1's dependencies (the SDK is archived; no upstream fix)."""

from __future__ import annotations

from typing import Any

_applied = False


def apply_msrest_patch() -> None:
    """Make msrest's retry policy cheap to construct; it changes no behaviour.

    ``ClientRetryPolicy.__init__`` runs for every connector client, at least twice per turn,
    and rebuilds the same 999-step list of retryable statuses each time (first from a 501-entry
    list: ~80% of an echo bot's CPU). The statuses are computed once here; each policy still
    gets its own list, as before.
    """
    global _applied
    if _applied:
        return
    from msrest.universal_http.requests import ClientRetryPolicy
    from urllib3 import Retry

    # The annotation says list; only membership is ever asked of it.
    ClientRetryPolicy.safe_codes = frozenset(ClientRetryPolicy.safe_codes)  # type: ignore[assignment]
    retry_codes = tuple(i for i in range(999) if i not in ClientRetryPolicy.safe_codes)
    methods = ("HEAD", "TRACE", "GET", "PUT", "OPTIONS", "DELETE", "POST", "PATCH")

    def init(self: Any) -> None:
        self.policy = Retry()
        self.policy.total = 3
        self.policy.connect = 3
        self.policy.read = 3
        self.policy.backoff_factor = 0.8
        self.policy.BACKOFF_MAX = 90
        self.policy.status_forcelist = list(retry_codes)
        self.policy.method_whitelist = list(methods)

    ClientRetryPolicy.__init__ = init  # type: ignore[method-assign]
    _applied = True


_body_applied = False


def apply_request_body_patch() -> None:
    """Encode the JSON body of outgoing connector requests with orjson.

    msrest's ``ClientRequest.add_content`` runs ``json.dumps`` over every reply the bot POSTs or
    PUTs (a ~5 KB card each); orjson writes the same JSON in about a tenth of the time. The body
    goes out as UTF-8 bytes with a Content-Length in bytes (msrest counted characters, which
    matched only because ``json.dumps`` escapes everything beyond ASCII). Anything orjson
    refuses still takes msrest's way.
    """
    global _body_applied
    if _body_applied:
        return
    import orjson
    from msrest.universal_http import ClientRequest

    original: Any = ClientRequest.add_content

    def add_content(self: Any, data: object) -> None:
        if type(data) in (dict, list):
            try:
                body = orjson.dumps(data)
            except TypeError:  # orjson.JSONEncodeError is a TypeError
                pass
            else:
                self.data = body
                self.headers["Content-Length"] = str(len(body))
                return
        original(self, data)

    ClientRequest.add_content = add_content  # type: ignore[method-assign]
    _body_applied = True


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


_serializer_applied = False
_PLAIN_SCALARS = (str, int, float, bool, type(None))


class _NotPlain(Exception):
    pass


def _plain_copy(value: object) -> object:
    """A copy of plain JSON data (dicts with str keys, lists, scalars), or _NotPlain."""
    kind = type(value)
    if kind is dict:
        out = {}
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str:
                raise _NotPlain
            out[key] = _plain_copy(item)
        return out
    if kind is list:
        return [_plain_copy(item) for item in value]  # type: ignore[attr-defined]
    if kind in _PLAIN_SCALARS:
        return value
    raise _NotPlain


def apply_serializer_patch() -> None:
    """Serialize plain JSON (an Adaptive Card's content) by copying it, or not at all.

    msrest's ``Serializer.serialize_object`` walks a card dict node by node through its generic
    type dispatch: ~0.75 ms for one answer card, paid again for every reply (the expectReplies
    body, each POST). A ``SentCard`` (bot/sending.py) is plain JSON that is never changed, so it
    is its own serialization. For other dicts and lists of plain JSON msrest's result equals a
    copy; anything else (models, dates, tuples, odd keys) still goes the original way.
    """
    global _serializer_applied
    if _serializer_applied:
        return
    from msrest.serialization import Serializer, full_restapi_key_transformer

    from bot.sending import SentAttachment, SentCard

    original: Any = Serializer.serialize_object
    original_model: Any = Serializer._serialize

    def serialize_model(
        self: Any, target_obj: object, data_type: object = None, **kwargs: Any
    ) -> Any:
        # The REST shape (not as_dict's Python names, not XML) of the attachment card_message
        # makes; msrest would get there through ~20 us of generic attribute walking.
        if (
            type(target_obj) is SentAttachment
            and data_type is None
            and not kwargs.get("is_xml")
            and kwargs.get("key_transformer", self.key_transformer) is full_restapi_key_transformer
        ):
            wire = target_obj.wire()
            if wire is not None:
                return wire
        return original_model(self, target_obj, data_type, **kwargs)

    def serialize_object(self: Any, attr: object, **kwargs: object) -> object:
        if type(attr) is SentCard:
            return attr  # plain JSON that never changes after it is sent: nothing to copy
        if type(attr) in (dict, list):
            try:
                return _plain_copy(attr)
            except (_NotPlain, RecursionError):
                pass
        return original(self, attr, **kwargs)

    Serializer.serialize_object = serialize_object  # type: ignore[method-assign]
    Serializer._serialize = serialize_model  # type: ignore[method-assign]
    _serializer_applied = True
