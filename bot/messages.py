"""POST /api/messages: our own handler around CloudAdapter.process_activity.

The stock ``CloudAdapter.process`` in 4.17.1 answers 500 to expectReplies and invokes (it
serialises a dict twice) and turns a garbage bearer token into a 500; this handler does not.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any
from urllib.parse import urlsplit

import requests
from aiohttp import web
from botbuilder.core import Bot
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity
from msrest.serialization import Model

from bot.settings import Settings, is_loopback_host

log = logging.getLogger(__name__)


def _reject(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


def parse_activity(body: bytes) -> Activity | str:
    """The activity in ``body``, or the reason it is not one."""
    try:
        data = json.loads(body)
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
    return activity


def _invoke_body(body: Any) -> Any:
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
            host = urlsplit(activity.service_url).hostname or ""
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
        try:
            response = await adapter.process_activity(auth, activity, bot.on_turn)
        except Exception:
            # The turn error handler already answered the user when it could; here the
            # failure happened on the way out (e.g. the connector is unreachable).
            ref = uuid.uuid4().hex[:12]
            log.exception("delivery failed ref=%s activity=%s", ref, activity.id)
            return web.json_response(
                {"error": "could not deliver the reply", "ref": ref}, status=502
            )
        if response is None:
            return web.Response(status=201)
        body_out = _invoke_body(response.body)
        if body_out is None:
            return web.Response(status=int(response.status))
        return web.json_response(body_out, status=int(response.status))

    return messages
