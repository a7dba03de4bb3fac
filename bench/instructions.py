"""Instructions and cache misses per request, ours against echo: a count that noise cannot move.

Run: .venv/bin/python bench/instructions.py [--requests 500] [--warmup 100]
Needs valgrind (Debian: ``apt-get install valgrind``); takes about 2 minutes on 2 cores.

Why: on a shared 2-core VM single throughput rounds of the same code scatter by +-30%
(bench/README.md), so a change worth 2% cannot be seen in req/s without very long runs. A
count of executed instructions is the same from run to run, so it shows such a change at once.

Method: each server (``python -m bot`` and bench/echo_bot.py, local mode, the settings
bench/load.py uses, hash seed fixed) runs under valgrind's cachegrind, which counts the
instructions every thread of the process executes and simulates its first-level caches. One
client sends the bench/load.py texts in expectReplies mode (the reply comes back in the response,
nothing else is involved) one request at a time (8 rotating conversations, unique
activity ids), first W then W + N requests to a fresh server each time: the difference divided
by N is the cost of one request, with start-up and warm-up taken out. The two counts for each
server run side by side, one per core.

What it does not show: time. The kernel (sockets, writes, context switches), stalls on the
second-level cache and branch mispredictions are not in it, and ours' extra instructions run
slower than echo's average ones (they touch more memory). Use it to see what a change removes,
and bench/load.py for what that is worth in requests per second.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine
from load import ROOT, TEXTS, activity, free_port, server_argv, server_env, wait_healthy

COUNTS = {"instructions": "I   refs", "I1 misses": "I1  misses", "D1 misses": "D1  misses"}


def count(target: str, requests: int, work: Path) -> dict[str, int]:
    """cachegrind's totals for a fresh ``target`` server that answered ``requests`` requests."""
    port = free_port()
    report = work / f"{target}-{requests}.txt"
    argv = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=yes",
        "--cachegrind-out-file=/dev/null",
        f"--log-file={report}",
        *server_argv(target, port),
    ]
    env = server_env(work / f"{target}-{requests}.db")
    env["PYTHONHASHSEED"] = "0"
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz", proc, timeout=600)
        bodies = [
            activity(t, locale, "expectReplies", "http://127.0.0.1:9/") for t, locale in TEXTS
        ]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        for i in range(requests):
            body = dict(bodies[i % len(bodies)], id=f"activity-{i}")
            body["conversation"] = {"id": f"a:conversation-{i % 8}", "conversationType": "personal"}
            conn.request(
                "POST",
                "/api/messages",
                body=json.dumps(body).encode(),
                headers={"Content-Type": "application/json"},
            )
            answer = conn.getresponse()
            answer.read()
            if answer.status != 200:
                raise RuntimeError(f"{target}: HTTP {answer.status} for request {i}")
        conn.close()
    finally:
        proc.terminate()
        proc.wait(timeout=600)
    text = report.read_text(encoding="utf-8")
    totals = {}
    for name, label in COUNTS.items():
        found = re.search(re.escape(label) + r":\s+([\d,]+)", text)
        if found is None:
            raise RuntimeError(f"{target}: no '{label}' in valgrind's report {report}")
        totals[name] = int(found.group(1).replace(",", ""))
    return totals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=500, help="measured requests (N)")
    parser.add_argument("--warmup", type=int, default=100, help="requests not measured (W)")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("bench/instructions.py needs valgrind (apt-get install valgrind)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="bench-instructions-"))
    runs = [(t, n) for t in ("echo", "ours") for n in (args.warmup, args.warmup + args.requests)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        totals = dict(zip(runs, pool.map(lambda r: count(*r, work), runs), strict=True))
    print(f"machine: {machine()}")
    print(
        f"method: cachegrind, {args.requests} expectReplies requests after {args.warmup} "
        "(the difference of two runs of a fresh server), bench/load.py's 16 texts, one client"
    )
    per = {
        t: {
            k: (totals[(t, args.warmup + args.requests)][k] - totals[(t, args.warmup)][k])
            / args.requests
            for k in COUNTS
        }
        for t in ("echo", "ours")
    }
    print(f"{'per request':14}" + "".join(f"{k:>14}" for k in COUNTS))
    for target, row in per.items():
        print(f"{target:14}" + "".join(f"{v:14,.0f}" for v in row.values()))
    extra = {k: per["ours"][k] - per["echo"][k] for k in COUNTS}
    print(f"{'ours - echo':14}" + "".join(f"{v:14,.0f}" for v in extra.values()))
    print(
        f"echo/ours instructions {per['echo']['instructions'] / per['ours']['instructions']:.3f}"
        " (not a throughput ratio: see the docstring)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
