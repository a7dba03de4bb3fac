"""GET /readyz and GET /metrics, and the hooks that feed the metrics while the app runs."""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Any

from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler

from bot.metrics import Metrics
from bot.reload import KnowledgeRef
from bot.store.base import Store

log = logging.getLogger(__name__)
PING_TIMEOUT_S = 5.0  # a store that does not answer by then is not ready


def make_readyz(ref: KnowledgeRef, store: Store, metrics: Metrics) -> Any:  # an aiohttp handler
    async def readyz(_: web.Request) -> web.Response:
        """200 when content is loaded and the store answers; 503 naming what is not."""
        topics = len(ref.get().catalog.topics)
        store_ok = await _ping(store)
        body: dict[str, Any] = {
            "status": "ready" if topics and store_ok else "not ready",
            "content": {
                "status": "loaded" if topics else "empty",
                "topics": topics,
                "last_reload": metrics.last_reload,
            },
            "store": {"status": "reachable" if store_ok else "unreachable"},
        }
        return web.json_response(body, status=200 if topics and store_ok else 503)

    return readyz


async def _ping(store: Store) -> bool:
    try:
        return await asyncio.wait_for(store.ping(), PING_TIMEOUT_S)
    except Exception as exc:
        # Readiness answers 503, never 500: whatever the backend raised, it is not reachable.
        log.warning("store ping failed: %s", type(exc).__name__)
        return False


def make_metrics(metrics: Metrics, token: str = "") -> Any:  # an aiohttp handler
    """Prometheus text; with a ``token``, only for requests that carry it as a bearer token."""
    scrape = make_aiohttp_handler(metrics.registry)
    if not token:
        return scrape
    expected = f"Bearer {token}".encode()

    async def guarded(request: web.Request) -> web.StreamResponse:
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return web.json_response(
                {"error": "metrics need the bearer token METRICS_TOKEN"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        response: web.StreamResponse = await scrape(request)
        return response

    return guarded


def add_observability(
    app: web.Application, ref: KnowledgeRef, store: Store, metrics: Metrics, metrics_token: str = ""
) -> None:
    """Route /readyz (always open: platform probes call it) and /metrics."""
    app.router.add_get("/readyz", make_readyz(ref, store, metrics))
    app.router.add_get("/metrics", make_metrics(metrics, metrics_token))
