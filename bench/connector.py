"""A fake Bot Framework connector for the load benchmark's normal mode (its own process).

Run: .venv/bin/python bench/connector.py [--host 127.0.0.1] [--port P]

Answers ``POST /v3/conversations/{conversation}/activities[/{replyToId}]`` and
``PUT .../activities/{id}`` with ``{"id": "..."}`` as the real connector does, and counts them;
``GET /stats`` returns ``{"activities": count, "bad": count}`` so the benchmark can check that
every 201 from the bot stands for a reply that arrived. A body that is not a JSON activity with
a ``type`` counts as bad. No access log: the connector is not what is measured.
"""

from __future__ import annotations

import argparse
import json

from aiohttp import web

COUNTS = web.AppKey("counts", dict[str, int])


async def activity(request: web.Request) -> web.Response:
    counts = request.app[COUNTS]
    try:
        body = json.loads(await request.read())
        ok = isinstance(body, dict) and isinstance(body.get("type"), str)
    except ValueError:
        ok = False
    counts["activities" if ok else "bad"] += 1
    if not ok:
        return web.json_response({"error": "not an activity"}, status=400)
    return web.json_response({"id": f"bench-{counts['activities']}"})


async def stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[COUNTS])


def create_connector_app() -> web.Application:
    app = web.Application()
    app[COUNTS] = {"activities": 0, "bad": 0}
    route = "/v3/conversations/{conversation}/activities"
    app.router.add_post(route, activity)
    app.router.add_post(route + "/{reply_to}", activity)
    app.router.add_put(route + "/{id}", activity)
    app.router.add_get("/stats", stats)
    app.router.add_get("/healthz", stats)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3979)
    args = parser.parse_args()
    web.run_app(create_connector_app(), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
