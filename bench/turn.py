"""Per-turn cost of the bot against the echo baseline, in one process, without HTTP.

Run: .venv/bin/python bench/turn.py [--turns 4000] [--mode expectReplies|normal] [--rounds 3]

A quieter companion to bench/load.py for judging a change: both apps are built by their real
factories (``bot.app.create_app`` and ``bench/echo_bot.py``'s ``create_echo_app``, local mode,
SQLite in a temp file) and take turns one request at a time, ours then echo then ours..., so
a machine that speeds up or slows down affects both alike. Each turn does what the
/api/messages handler does after reading the body: parse the activity, authenticate (local
mode: anonymous), run the turn through the adapter, and encode the JSON result. Logs go to
/dev/null at INFO. In normal mode the replies go to bench/connector.py, started on the other
CPU; the time then includes the thread that POSTs and is measured as process CPU time.

Prints the machine, the mean and median per turn for each bot after the first fifth of the
turns (warm-up), and ours/echo of the means (what throughput sees), per round and the median.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine
from echo_bot import create_echo_app
from load import TEXTS, activity, free_port, server_env, wait_healthy

from bot.app import ADAPTER, BOT, create_app
from bot.logs import configure_logging
from bot.messages import invoke_body, json_body, parse_activity
from bot.settings import Settings

BENCH = Path(__file__).resolve().parent


async def one_turn(app: web.Application, raw: bytes) -> None:
    parsed = parse_activity(raw)
    assert not isinstance(parsed, str), parsed
    adapter, bot = app[ADAPTER], app[BOT]
    auth = await adapter.bot_framework_authentication.authenticate_request(parsed, "")
    response = await adapter.process_activity(auth, parsed, bot.on_turn)
    if response is not None:
        json_body(invoke_body(response.body), int(response.status))


async def run_round(
    apps: dict[str, web.Application], bodies: list[bytes], clock: Callable[[], float]
) -> dict[str, list[float]]:
    runners = [web.AppRunner(app) for app in apps.values()]
    for runner in runners:
        await runner.setup()  # opens the store, starts the event batching
    times: dict[str, list[float]] = {name: [] for name in apps}
    try:
        for raw in bodies:
            for name, app in apps.items():
                started = clock()
                await one_turn(app, raw)
                times[name].append(clock() - started)
    finally:
        for runner in runners:
            await runner.cleanup()
    return times


def bodies_for(mode: str, service_url: str, turns: int) -> list[bytes]:
    templates = [activity(text, locale, mode, service_url) for text, locale in TEXTS]
    out = []
    for i in range(turns):
        body: dict[str, Any] = dict(templates[i % len(templates)])
        body["id"] = f"turn-{i}"
        out.append(json.dumps(body).encode())
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=4000, help="turns per bot per round")
    parser.add_argument("--mode", choices=("expectReplies", "normal"), default="expectReplies")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-turn-"))
    settings = Settings.from_env(server_env(tmp / "bot.db"), host="127.0.0.1", port=3978)
    configure_logging("INFO", "text")
    handler = logging.getLogger().handlers[-1]
    handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - for the life of the process

    connector = None
    service_url = "http://127.0.0.1:9/"  # expectReplies: nothing is sent
    if args.mode == "normal":
        port = free_port()
        argv = [sys.executable, str(BENCH / "connector.py"), "--host", "127.0.0.1"]
        cpu = ["taskset", "-c", "1"] if (os.cpu_count() or 1) >= 2 else []
        connector = subprocess.Popen(
            [*cpu, *argv, "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_healthy(f"http://127.0.0.1:{port}/stats", connector)
        service_url = f"http://127.0.0.1:{port}/"
    clock = time.process_time if args.mode == "normal" else time.perf_counter
    bodies = bodies_for(args.mode, service_url, args.turns)
    ratios = []
    print(f"machine: {machine()}")
    print(
        f"method: {args.turns} turns per bot per round, alternating ours/echo one turn at a time, "
        f"{args.mode}, first fifth discarded; "
        f"{'process CPU time' if args.mode == 'normal' else 'wall time'} per turn"
    )
    try:
        for round_no in range(args.rounds):
            apps = {"ours": create_app(settings), "echo": create_echo_app(settings)}
            times = asyncio.run(run_round(apps, bodies, clock))
            skip = args.turns // 5
            mean = {k: statistics.mean(v[skip:]) * 1e6 for k, v in times.items()}
            median = {k: statistics.median(v[skip:]) * 1e6 for k, v in times.items()}
            ratios.append(mean["echo"] / mean["ours"])
            print(
                f"round {round_no + 1}: ours mean {mean['ours']:.0f} us (median "
                f"{median['ours']:.0f}), echo mean {mean['echo']:.0f} us (median "
                f"{median['echo']:.0f}); ours/echo throughput {ratios[-1]:.3f}"
            )
    finally:
        if connector is not None:
            connector.terminate()
            connector.wait()
    print(f"ours/echo (median of {len(ratios)} rounds): {statistics.median(ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
