"""POST /api/messages: our own handler around CloudAdapter.process_activity.

The stock ``CloudAdapter.process`` in 4.17.1 answers 500 to expectReplies and invokes (it
serialises a dict twice) and turns a garbage bearer token into a 500; this handler does not.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
from aiohttp import web
from botbuilder.core import Bot
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity
from msrest.serialization import Model

from bot.logs import TURN_LOGGED, turn_logged
from bot.settings import Settings, is_loopback_host

log = logging.getLogger(__name__)


def json_body(body: Any, status: int) -> web.Response:
    """A JSON response for the turn's result: encoded by orjson, which writes a ~5 KB answer card
    in a tenth of the standard library's time; anything orjson refuses (an integer beyond 64
    bits, a key that is not a string) still gets the standard library's encoding."""
    try:
        data = orjson.dumps(body)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        data = json.dumps(body).encode()
    return web.Response(body=data, status=status, content_type="application/json", charset="utf-8")


def _reject(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


# A plain http(s) URL: no user info ('@'), no backslashes or spaces, which different URL
# parsers read differently (urllib says loopback, urllib3 connects elsewhere).
SERVICE_URL = re.compile(
    r"https?://[A-Za-z0-9.\-]+(?::\d{1,5})?(?:/[A-Za-z0-9._~%!$&'()*+,;=:/\-]*)?"
)
SERVICE_URL_V6 = re.compile(r"https?://\[[0-9A-Fa-f:.]+\](?::\d{1,5})?(?:/[^\s\\@]*)?")
_SURROGATE = re.compile("[\ud800-\udfff]")


def without_lone_surrogates(value: Any) -> Any:
    """JSON text may escape half a UTF-16 pair ("\\ud800"); such a str cannot be encoded, so it
    is replaced before it reaches a store, a hash or a card."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value
    if isinstance(value, list):
        return [without_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {without_lone_surrogates(k): without_lone_surrogates(v) for k, v in value.items()}
    return value


def service_host(url: str) -> str | None:
    """The host of a well-formed serviceUrl, or None when it is not one."""
    if not (SERVICE_URL.fullmatch(url) or SERVICE_URL_V6.fullmatch(url)):
        return None
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def parse_activity(body: bytes) -> Activity | str:
    """The activity in ``body``, or the reason it is not one."""
    try:
        data = without_lone_surrogates(json.loads(body))
    except (ValueError, RecursionError):
        return "body is not valid JSON"
    if not isinstance(data, dict):
        return "body must be a JSON object (an activity)"
    try:
        activity = Activity().deserialize(data)
    # msrest's DeserializationError is a ValueError.
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        return f"not a valid activity: {type(exc).__name__}"
    if not isinstance(activity.type, str) or not activity.type:
        return "activity 'type' is missing"
    if not isinstance(activity.service_url, str) or not activity.service_url:
        return "activity 'serviceUrl' is missing"
    if service_host(activity.service_url) is None:
        return "activity 'serviceUrl' is not a plain http(s) URL"
    conversation = activity.conversation
    if conversation is None or not isinstance(conversation.id, str) or not conversation.id:
        return "activity 'conversation.id' is missing"
    return activity


def invoke_body(body: Any) -> Any:
    # Serialise only msrest models: expectReplies bodies arrive already as plain dicts.
    if isinstance(body, Model):
        model: Any = body
        return model.serialize()
    return body


def make_messages_handler(
    settings: Settings, adapter: CloudAdapter, bot: Bot
) -> Any:  # an aiohttp handler
    async def messages(request: web.Request) -> web.StreamResponse:
        if request.content_type != "application/json":
            return _reject(415, "Content-Type must be application/json")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _reject(413, f"body larger than {settings.max_body_bytes} bytes")
        parsed = parse_activity(body)
        if isinstance(parsed, str):
            return _reject(400, parsed)
        activity = parsed
        if settings.local_mode:
            host = service_host(activity.service_url) or ""
            if not is_loopback_host(host):
                return _reject(403, "local mode only replies to a loopback serviceUrl")
        auth_header = request.headers.get("Authorization", "")
        try:
            auth = await adapter.bot_framework_authentication.authenticate_request(
                activity, auth_header
            )
        except requests.RequestException as exc:
            # The signing keys could not be fetched: not the caller's fault, try again later.
            log.warning("token check unavailable activity=%s: %s", activity.id, exc)
            return _reject(503, "cannot validate the token right now")
        except Exception as exc:
            # The SDK signals a bad token with PermissionError, but a forged one can also
            # surface as KeyError/IndexError/jwt errors from inside it: all are the caller's.
            log.info("unauthorized activity=%s: %s", activity.id, type(exc).__name__)
            return _reject(401, "missing or invalid Bot Framework token")
        turn_logged.set(False)
        try:
            response = await adapter.process_activity(auth, activity, bot.on_turn)
        except Exception as exc:
            if activity.type == "invoke" and isinstance(exc, ValueError):
                # msrest's SerializationError: the SDK cannot serialise its own error answer
                # to a malformed invoke (an adaptiveCard/action without a value holds an
                # Exception), which in expectReplies mode surfaces here. The caller's fault.
                log.info("invalid invoke activity=%s name=%s", activity.id, activity.name)
                return _reject(400, "invalid invoke request")
            # The turn error handler already answered the user when it could; here the
            # failure happened on the way out (e.g. the connector is unreachable).
            ref = uuid.uuid4().hex[:12]
            log.exception("delivery failed ref=%s activity=%s", ref, activity.id)
            return web.json_response(
                {"error": "could not deliver the reply", "ref": ref}, status=502
            )
        if turn_logged.get():
            request[TURN_LOGGED] = True  # the access log can leave this request out
        if response is None:
            return web.Response(status=201)
        if int(response.status) == 501:
            # The SDK's "not implemented" for an invoke we don't handle: the caller's request
            # is what is unsupported, so answer 4xx with a reason, not a 5xx.
            return _reject(400, f"unsupported invoke '{activity.name}'")
        try:
            body_out = invoke_body(response.body)
        except ValueError:  # msrest's SerializationError, e.g. the SDK's own error response
            # for an adaptiveCard/action invoke without a value holds an Exception object.
            status = int(response.status)
            return _reject(status if 400 <= status < 500 else 400, "invalid invoke request")
        if body_out is None:
            return web.Response(status=int(response.status))
        return json_body(body_out, int(response.status))

    return messages
