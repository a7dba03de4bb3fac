"""HTTP load on the running bot against an echo bot and a bare aiohttp handler (a benchmark).

Run: .venv/bin/python bench/load.py [--concurrency 1,8,32] [--duration 10] [--soak 100000]

Three servers, each in its own process on 127.0.0.1 and a free port:

- ``ours``:    the real bot, ``python -m bot`` in local mode;
- ``echo``:    bench/echo_bot.py, an ActivityHandler that echoes the text, served by the same
               bot/messages.py handler, bot/adapter.py adapter, msrest patch and settings;
- ``ceiling``: bench/fixed_json.py, a bare aiohttp handler answering a fixed JSON.

Each is loaded in two modes: ``expectReplies`` (the reply comes back in the HTTP response) and
``normal`` (the bot POSTs its reply to the activity's serviceUrl, here bench/connector.py, a
fake connector in its own process, and answers 201). The load is N concurrent conversations:
wrk keeps N connections busy (closed loop: each sends its next request when the answer
arrives), every request a Teams message activity with a unique id, the next of N
conversations and the next of a list of real symptom texts (English and Norwegian, codes,
pasted log lines, one off-topic). Every cell (target, mode, concurrency) is a warm-up, thrown
away, then a measured run; the three targets take turns cell by cell, so a burst from a
neighbour on a shared machine does not land on one target only; ``--rounds R`` repeats the
whole matrix and reports medians.

Per cell: requests/s, p50/p99 latency (wrk's histogram), errors (a status other than 200 in
expectReplies / 201 in normal mode, a body without the expected content, socket errors and
timeouts, and in normal mode a 201 whose reply never reached the connector; ERROR lines in
the server's log are counted beside them), the server's peak RSS during the measured run
(VmHWM after resetting it through /proc/PID/clear_refs, else the maximum VmRSS sampled every
100 ms), its CPU use (% of one core) and, when it is pinned, the share of its CPU that did
other work (other processes, interrupts, hypervisor steal). On a machine with at least 2
cores the servers run pinned to CPU 0, wrk and the fake connector to CPU 1 (taskset;
``--no-pin`` lets the scheduler choose), so the load generator does not take CPU from the
server it measures. Each server has its own throw-away SQLite store.

``--soak N`` then sends N more requests to a fresh ``ours`` in expectReplies mode at
concurrency 8, in steps of about ``--soak-step`` requests, and reads its RSS after each step.

Targets (the issue): ours >= 80% of echo's req/s in every cell, p99 < 50 ms at concurrency 8
in expectReplies mode, zero errors, RSS growth <= 10% over the soak. Exit status 1 when one
fails. Without wrk (Debian: ``apt-get install -y wrk``) the load comes from an asyncio aiohttp
client in this process instead (pinned to CPU 1), which is slower and says so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, percentile

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
LUA_SCRIPT = BENCH / "activities.lua"
HOST = "127.0.0.1"
WRK_INSTALL = "apt-get update -qq && apt-get install -y wrk"

TARGETS = ("ceiling", "echo", "ours")
MODES = ("expectReplies", "normal")
EXPECT_STATUS = {"expectReplies": 200, "normal": 201}
# A substring every expectReplies body of that server must contain: proof of a real answer.
EXPECT_BODY = {
    "ours": "application/vnd.microsoft.card.adaptive",
    "echo": '"echo: ',  # the text, however the JSON is spaced
    "ceiling": '"activities"',
}

# What admins type: codes, symptoms, pasted lines, Norwegian, typos, and one off-topic message.
TEXTS: tuple[tuple[str, str], ...] = (
    ("6025", "en-US"),
    ("slow full sync", "en-US"),
    ("stack trace", "en-US"),
    ("hei, full synkronisering er treg", "nb-NO"),
    ("stopped-server failed-creation-via-web-services", "en-US"),
    ("stopped-extension-dll-exception on the AD MA delta sync", "en-US"),
    ("PCNS event 6025 on the domain controller, password changes are not reaching MIM", "en-US"),
    ("full sync on the FIM Service MA has been running for 14 hours, tempdb is huge", "en-US"),
    ("passordendringer kommer ikke fram til MIM, hendelse 6025", "nb-NO"),
    ("which MIM build are we on", "en-US"),
    ("Event ID 6947", "en-US"),
    ("stoped-conectivity on export", "en-US"),
    ("The management agent failed on run profile Delta Import because of a stack trace", "en-US"),
    ("hvilken versjon av MIM kjører vi egentlig", "nb-NO"),
    ("help", "en-US"),
    ("how do I reset my Outlook password", "en-US"),
)


# ---- the activities ---------------------------------------------------------------------------

# Markers that JSON leaves as they are and no text contains.
_ID, _CONV = "@@BENCH_ID@@", "@@BENCH_CONV@@"


def activity(text: str, locale: str, mode: str, service_url: str) -> dict[str, Any]:
    """A Teams personal-chat message as Teams posts it; _ID and _CONV are filled per request."""
    body: dict[str, Any] = {
        "type": "message",
        "id": _ID,
        "timestamp": "2024-05-02T08:15:30.123Z",
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {"id": f"29:bench-user-{_CONV}", "name": "Ada Admin"},
        "conversation": {"id": f"a:bench-conversation-{_CONV}", "conversationType": "personal"},
        "recipient": {"id": "28:mim-bot", "name": "MIM Bot"},
        "textFormat": "plain",
        "locale": locale,
        "text": text,
        "channelData": {"tenant": {"id": "72f988bf-86f1-41af-91ab-2d7cd011db47"}},
    }
    if mode == "expectReplies":
        body["deliveryMode"] = "expectReplies"
    return body


def template(body: dict[str, Any]) -> list[str | int]:
    """The JSON text split into literals and markers: 1 = activity id, 2 = conversation."""
    parts: list[str | int] = []
    for piece in re.split(f"({_ID}|{_CONV})", json.dumps(body, ensure_ascii=False)):
        parts.append(1 if piece == _ID else 2 if piece == _CONV else piece)
    return parts


def fill(parts: Sequence[str | int], activity_id: str, conversation: int) -> bytes:
    return "".join(
        activity_id if p == 1 else str(conversation) if p == 2 else str(p) for p in parts
    ).encode()


def lua_string(text: str) -> str:
    level = "="
    while f"]{level}]" in text:
        level += "="
    return f"[{level}[{text}]{level}]"


def write_wrk_data(path: Path, templates: list[list[str | int]], load: LoadSpec) -> None:
    rows = []
    for parts in templates:
        items = [str(p) if isinstance(p, int) else lua_string(p) for p in parts]
        rows.append("    { " + ", ".join(items) + " },")
    path.write_text(
        "return {\n"
        f"  conversations = {load.conversations},\n"
        f"  expect_status = {load.expect_status},\n"
        f"  expect_body = {lua_string(load.expect_body)},\n"
        f"  run_tag = {lua_string(load.run_tag)},\n"
        "  templates = {\n" + "\n".join(rows) + "\n  },\n}\n",
        encoding="utf-8",
    )


# ---- processes --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def pinned(argv: list[str], cpu: int | None) -> list[str]:
    return argv if cpu is None else ["taskset", "-c", str(cpu), *argv]


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url}: not healthy after {timeout:.0f} s")


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    @property
    def pid(self) -> int:
        # taskset execs the program: the pid is the server's own.
        return self.proc.pid


def server_argv(name: str, port: int) -> list[str]:
    where = ["--host", HOST, "--port", str(port)]
    if name == "ours":
        return [sys.executable, "-m", "bot", *where]
    if name == "echo":
        return [sys.executable, str(BENCH / "echo_bot.py"), *where]
    if name == "ceiling":
        return [sys.executable, str(BENCH / "fixed_json.py"), *where]
    if name == "connector":
        return [sys.executable, str(BENCH / "connector.py"), *where]
    raise ValueError(name)


def server_env(sqlite_path: Path) -> dict[str, str]:
    """Local mode, the default SQLite store in a throw-away file, nothing that reaches out."""
    drop = ("MicrosoftApp", "AZURE_", "HELPDESK_", "STORE", "SQLITE_PATH", "TABLE_PREFIX")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.setdefault("LOG_LEVEL", "INFO")
    env["STORE"] = "sqlite"
    env["SQLITE_PATH"] = str(sqlite_path)
    # The bot's outbound calls go through requests: never through a proxy on loopback.
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


@contextmanager
def server(name: str, cpu: int | None, logs: Path) -> Iterator[Server]:
    port = free_port()
    log = logs / f"{name}-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            pinned(server_argv(name, port), cpu),
            cwd=ROOT,
            env=server_env(logs / f"{name}-{port}.db"),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://{HOST}:{port}"
    try:
        wait_healthy(
            f"{url}/{'stats' if name == 'connector' else 'healthz'}", proc
        )  # the connector answers GET /stats
        yield Server(name, proc, url, log)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid`` in KiB."""
    found: dict[str, int] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0])
    return found


def reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False when not allowed."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def cpu_ticks(cpu: int | None) -> tuple[int, int]:
    """(busy, total) clock ticks of one CPU, or of all CPUs, from /proc/stat."""
    key = "cpu" if cpu is None else f"cpu{cpu}"
    with open("/proc/stat", encoding="ascii") as stat:
        for line in stat:
            fields = line.split()
            if fields and fields[0] == key:
                ticks = [int(x) for x in fields[1:9]]  # guest time is already in user
                idle = ticks[3] + ticks[4]  # idle, iowait
                return sum(ticks) - idle, sum(ticks)
    return 0, 0


def process_ticks(pid: int) -> int:
    """User + system clock ticks of a process, all its threads."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)


class CpuMeter:
    """How busy the server was (% of one core) and, when it is pinned, how much of its CPU
    went to anything else: other processes on a shared machine, interrupts."""

    def __init__(self, pid: int, cpu: int | None) -> None:
        self.pid = pid
        self.cpu = cpu
        self.server_pct = 0.0
        self.other_pct: float | None = None

    def __enter__(self) -> CpuMeter:
        self._start = time.monotonic()
        self._proc = process_ticks(self.pid)
        self._busy, self._total = cpu_ticks(self.cpu)
        return self

    def __exit__(self, *exc: object) -> None:
        hz = os.sysconf("SC_CLK_TCK")
        proc = process_ticks(self.pid) - self._proc
        busy, total = cpu_ticks(self.cpu)
        wall = time.monotonic() - self._start
        self.server_pct = 100 * proc / hz / wall if wall else 0.0
        if self.cpu is not None and total > self._total:
            other = (busy - self._busy) - proc
            self.other_pct = max(0.0, 100 * other / (total - self._total))


class RssSampler:
    """The maximum VmRSS of a process, sampled every ``interval`` seconds in a thread."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            self.peak_kib = max(self.peak_kib, proc_status(self.pid).get("VmRSS", 0))
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def connector_count(connector: Server | None) -> tuple[int, int]:
    if connector is None:
        return 0, 0
    with urllib.request.urlopen(f"{connector.url}/stats", timeout=5) as resp:
        stats = json.load(resp)
    return int(stats["activities"]), int(stats["bad"])


def error_lines(log: Path) -> list[str]:
    """Log lines at ERROR or above, and tracebacks."""
    found = []
    with log.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback"):
                found.append(line.rstrip())
    return found


# ---- load generators --------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadSpec:
    url: str
    mode: str
    conversations: int
    expect_status: int
    expect_body: str
    run_tag: str
    templates: tuple[tuple[str | int, ...], ...]


@dataclass
class LoadResult:
    requests: int  # answered requests (wrk: responses read, whatever their status)
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    bad_status: int = 0
    bad_body: int = 0
    socket_errors: int = 0  # connect, read, write errors and timeouts

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


class Generator:
    name = ""

    def run(self, load: LoadSpec, seconds: float) -> LoadResult:
        raise NotImplementedError


class Wrk(Generator):
    def __init__(self, cpu: int | None, workdir: Path, timeout_s: int) -> None:
        self.cpu = cpu
        self.workdir = workdir
        self.timeout_s = timeout_s
        version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
        first = (version.stdout or version.stderr).splitlines()
        self.name = (first[0].split(" Copyright")[0] if first else "wrk") + " (1 thread, Lua)"

    def run(self, load: LoadSpec, seconds: float) -> LoadResult:
        data = self.workdir / f"wrk-{load.run_tag}.lua"
        write_wrk_data(data, [list(t) for t in load.templates], load)
        argv = [
            "wrk",
            "-t1",
            f"-c{load.conversations}",
            f"-d{max(1, round(seconds))}s",
            f"--timeout={self.timeout_s}s",
            "-s",
            str(LUA_SCRIPT),
            f"{load.url}/api/messages",
            "--",
            str(data),
        ]
        done = subprocess.run(pinned(argv, self.cpu), capture_output=True, text=True, check=False)
        line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
        if done.returncode != 0 or line is None:
            raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}{done.stderr}")
        r = json.loads(line.removeprefix("BENCH_JSON "))
        return LoadResult(
            requests=int(r["responses"]),
            seconds=r["duration_us"] / 1e6,
            p50_ms=r["p50_us"] / 1000,
            p99_ms=r["p99_us"] / 1000,
            max_ms=r["max_us"] / 1000,
            bad_status=int(r["bad_status"]),
            bad_body=int(r["bad_body"]),
            socket_errors=sum(int(r[k]) for k in ("connect", "read", "write", "timeout")),
        )


class AiohttpClient(Generator):
    """N asyncio tasks, one per conversation, each POSTing its next activity when answered."""

    def __init__(self, cpu: int | None, timeout_s: int) -> None:
        self.timeout_s = timeout_s
        self.name = f"aiohttp {aiohttp.__version__} asyncio client in the benchmark process"
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})

    def run(self, load: LoadSpec, seconds: float) -> LoadResult:
        return asyncio.run(self._run(load, seconds))

    async def _run(self, load: LoadSpec, seconds: float) -> LoadResult:
        latencies: list[float] = []
        result = LoadResult(0, 0.0, 0.0, 0.0, 0.0)
        counter = iter(range(1, 1 << 62))
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        connector = aiohttp.TCPConnector(limit=load.conversations)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
            start = time.perf_counter()
            deadline = start + seconds

            async def conversation(number: int) -> None:
                while time.perf_counter() < deadline:
                    n = next(counter)
                    parts = load.templates[(n - 1) % len(load.templates)]
                    body = fill(parts, f"{load.run_tag}-{n}", number)
                    sent = time.perf_counter()
                    try:
                        async with http.post(
                            f"{load.url}/api/messages",
                            data=body,
                            headers={"Content-Type": "application/json"},
                        ) as resp:
                            text = await resp.text()
                            status = resp.status
                    except (aiohttp.ClientError, TimeoutError):
                        result.socket_errors += 1
                        continue
                    latencies.append(time.perf_counter() - sent)
                    if status != load.expect_status:
                        result.bad_status += 1
                    elif load.expect_body and load.expect_body not in text:
                        result.bad_body += 1

            await asyncio.gather(*(conversation(i) for i in range(load.conversations)))
            result.seconds = time.perf_counter() - start
        result.requests = len(latencies)
        if latencies:
            result.p50_ms = percentile(latencies, 0.50) * 1000
            result.p99_ms = percentile(latencies, 0.99) * 1000
            result.max_ms = max(latencies) * 1000
        return result


# ---- cells ------------------------------------------------------------------------------------


@dataclass
class Cell:
    target: str
    mode: str
    concurrency: int
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    errors: int
    error_detail: dict[str, int]
    peak_rss_mib: float
    server_cpu_pct: float
    other_cpu_pct: float | None
    log_errors: int = 0


@dataclass
class SoakStep:
    requests: int  # cumulative
    rss_mib: float
    rps: float
    p99_ms: float
    errors: int


@dataclass
class Soak:
    requests: int
    seconds: float
    start_rss_mib: float
    end_rss_mib: float
    steps: list[SoakStep] = field(default_factory=list)
    errors: int = 0

    @property
    def growth(self) -> float:
        return self.end_rss_mib / self.start_rss_mib - 1 if self.start_rss_mib else 0.0


def load_spec(target: Server, mode: str, concurrency: int, connector_url: str) -> LoadSpec:
    templates = tuple(
        tuple(template(activity(text, locale, mode, connector_url + "/"))) for text, locale in TEXTS
    )
    return LoadSpec(
        url=target.url,
        mode=mode,
        conversations=concurrency,
        expect_status=EXPECT_STATUS[mode],
        expect_body=EXPECT_BODY[target.name] if mode == "expectReplies" else "",
        run_tag=uuid.uuid4().hex[:10],
        templates=templates,
    )


def settle() -> None:
    # Let turns that were in flight when the load stopped finish (normal mode POSTs late).
    time.sleep(0.5)


def run_cell(
    gen: Generator,
    target: Server,
    connector: Server,
    mode: str,
    concurrency: int,
    seconds: float,
    warmup: float,
    server_cpu: int | None,
) -> Cell:
    if warmup > 0:
        gen.run(load_spec(target, mode, concurrency, connector.url), warmup)
        settle()
    spec = load_spec(target, mode, concurrency, connector.url)
    before, bad_before = connector_count(connector)
    log_before = len(error_lines(target.log))
    exact_peak = reset_peak(target.pid)
    with RssSampler(target.pid) as sampler, CpuMeter(target.pid, server_cpu) as cpu:
        result = gen.run(spec, seconds)
    peak_kib = proc_status(target.pid)["VmHWM"] if exact_peak else sampler.peak_kib
    settle()
    after, bad_after = connector_count(connector)
    detail = {
        "status": result.bad_status,
        "body": result.bad_body,
        "socket": result.socket_errors,
        "connector_bad": bad_after - bad_before,
    }
    if mode == "normal" and target.name != "ceiling":
        # Every 201 stands for a reply the connector received (it can have more: a turn in
        # flight when the load stopped still delivers its reply).
        answered = result.requests - result.bad_status
        detail["replies_missing"] = max(0, answered - (after - before))
    return Cell(
        target=target.name,
        mode=mode,
        concurrency=concurrency,
        rps=result.rps,
        p50_ms=result.p50_ms,
        p99_ms=result.p99_ms,
        max_ms=result.max_ms,
        requests=result.requests,
        errors=sum(detail.values()),
        error_detail={k: v for k, v in detail.items() if v},
        peak_rss_mib=peak_kib / 1024,
        server_cpu_pct=cpu.server_pct,
        other_cpu_pct=cpu.other_pct,
        log_errors=len(error_lines(target.log)) - log_before,
    )


def run_soak(
    gen: Generator, target: Server, connector: Server, total: int, step: int, warmup: float
) -> Soak:
    rate_probe = gen.run(load_spec(target, "expectReplies", 8, connector.url), warmup)
    settle()
    rate = max(rate_probe.rps, 1.0)
    start_rss = proc_status(target.pid)["VmRSS"] / 1024
    soak = Soak(requests=0, seconds=0.0, start_rss_mib=start_rss, end_rss_mib=start_rss)
    print(
        f"soak: {total} requests in steps of ~{step} at concurrency 8, "
        f"RSS after warm-up {start_rss:.1f} MiB",
        file=sys.stderr,
    )
    while soak.requests < total:
        # wrk runs for a duration: size each step from the rate measured so far.
        want = min(step, total - soak.requests)
        seconds = float(max(1, math.ceil(want / rate)))
        result = gen.run(load_spec(target, "expectReplies", 8, connector.url), seconds)
        errors = result.bad_status + result.bad_body + result.socket_errors
        soak.requests += result.requests
        soak.seconds += result.seconds
        soak.errors += errors
        rate = max(result.rps, 1.0)
        rss = proc_status(target.pid)["VmRSS"] / 1024
        soak.steps.append(SoakStep(soak.requests, rss, result.rps, result.p99_ms, errors))
        soak.end_rss_mib = rss
        print(
            f"  {soak.requests:>8} requests  RSS {rss:7.1f} MiB  {result.rps:7.0f} req/s  "
            f"p99 {result.p99_ms:6.1f} ms  errors {errors}",
            file=sys.stderr,
        )
    return soak


# ---- report -----------------------------------------------------------------------------------


Runs = dict[tuple[str, str, int], list[Cell]]  # (target, mode, concurrency) -> one per round


def combine(runs: list[Cell]) -> Cell:
    """Rounds of one cell: medians of rate, latency and CPU; totals of requests and errors."""
    if len(runs) == 1:
        return runs[0]
    detail: dict[str, int] = {}
    for run in runs:
        for key, value in run.error_detail.items():
            detail[key] = detail.get(key, 0) + value
    others = [r.other_cpu_pct for r in runs if r.other_cpu_pct is not None]
    return Cell(
        target=runs[0].target,
        mode=runs[0].mode,
        concurrency=runs[0].concurrency,
        rps=statistics.median(r.rps for r in runs),
        p50_ms=statistics.median(r.p50_ms for r in runs),
        p99_ms=statistics.median(r.p99_ms for r in runs),
        max_ms=max(r.max_ms for r in runs),
        requests=sum(r.requests for r in runs),
        errors=sum(r.errors for r in runs),
        error_detail=detail,
        peak_rss_mib=max(r.peak_rss_mib for r in runs),
        server_cpu_pct=statistics.median(r.server_cpu_pct for r in runs),
        other_cpu_pct=statistics.median(others) if others else None,
        log_errors=sum(r.log_errors for r in runs),
    )


def table(cells: list[Cell], out: TextIO) -> None:
    head = (
        f"{'target':<8} {'mode':<13} {'conc':>4} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'max ms':>7} {'requests':>8} {'errors':>6} {'peak RSS MiB':>12} "
        f"{'srv CPU':>7} {'other':>5}"
    )
    print(head, file=out)
    print("-" * len(head), file=out)
    for c in cells:
        detail = ", ".join(f"{k} {v}" for k, v in c.error_detail.items())
        note = f"  ({detail})" if detail else ""
        if c.log_errors:
            note += f"  [{c.log_errors} ERROR lines in the server log]"
        other = "-" if c.other_cpu_pct is None else f"{c.other_cpu_pct:.0f}%"
        print(
            f"{c.target:<8} {c.mode:<13} {c.concurrency:>4} {c.rps:>7.0f} {c.p50_ms:>7.1f} "
            f"{c.p99_ms:>7.1f} {c.max_ms:>7.1f} {c.requests:>8} {c.errors:>6} "
            f"{c.peak_rss_mib:>12.1f} {c.server_cpu_pct:>6.0f}% {other:>5}{note}",
            file=out,
        )


def find(cells: list[Cell], target: str, mode: str, conc: int) -> Cell | None:
    return next(
        (c for c in cells if (c.target, c.mode, c.concurrency) == (target, mode, conc)), None
    )


def paired(runs: Runs, mode: str, conc: int, a: str, b: str) -> list[float]:
    """req/s of ``a`` over ``b`` in each round: two targets measured minutes apart on a shared
    machine differ by more than the bot does, one right after the other much less."""
    ours, base = runs.get((a, mode, conc), []), runs.get((b, mode, conc), [])
    return [x.rps / y.rps for x, y in zip(ours, base, strict=False) if y.rps]


def verdicts(
    cells: list[Cell], runs: Runs, soak: Soak | None, args: argparse.Namespace, out: TextIO
) -> bool:
    ok = True

    def say(passed: bool, text: str) -> None:
        nonlocal ok
        ok = ok and passed
        print(f"  {'PASS' if passed else 'FAIL'}  {text}", file=out)

    print("\nratios (req/s):", file=out)
    for mode in args.modes:
        for conc in args.concurrency:
            ours = find(cells, "ours", mode, conc)
            echo = find(cells, "echo", mode, conc)
            ceiling = find(cells, "ceiling", mode, conc)
            parts = []
            pairs = paired(runs, mode, conc, "ours", "echo")
            if pairs:
                spread = f" ({min(pairs):.2f}-{max(pairs):.2f})" if len(pairs) > 1 else ""
                parts.append(f"ours/echo {statistics.median(pairs):5.2f}{spread}")
            if ours and ceiling and ceiling.rps:
                parts.append(f"ours/ceiling {ours.rps / ceiling.rps:5.2f}")
            if echo and ceiling and ceiling.rps:
                parts.append(f"echo/ceiling {echo.rps / ceiling.rps:5.2f}")
            if parts:
                print(f"  {mode:<13} c={conc:<3} " + "  ".join(parts), file=out)

    print("\ntargets:", file=out)
    for mode in args.modes:
        for conc in args.concurrency:
            ours = find(cells, "ours", mode, conc)
            echo = find(cells, "echo", mode, conc)
            pairs = paired(runs, mode, conc, "ours", "echo")
            if ours and echo and pairs:
                ratio = statistics.median(pairs)
                rounds = f", median of {len(pairs)} rounds" if len(pairs) > 1 else ""
                say(
                    ratio >= 0.80,
                    f"throughput {mode} c={conc}: ours {ours.rps:.0f} req/s, echo "
                    f"{echo.rps:.0f}; ours/echo {ratio:.0%}{rounds} (>= 80%)",
                )
    ours8 = find(cells, "ours", "expectReplies", 8)
    if ours8:
        say(ours8.p99_ms < 50, f"p99 ours expectReplies c=8: {ours8.p99_ms:.1f} ms (< 50 ms)")
    else:
        print("  n/a   p99 target: needs ours in expectReplies at concurrency 8", file=out)
    for target in TARGETS:
        mine = [c for c in cells if c.target == target]
        if mine:
            errors = sum(c.errors for c in mine)
            logs = sum(c.log_errors for c in mine)
            say(
                errors == 0 and logs == 0,
                f"errors {target}: {errors} in {sum(c.requests for c in mine)} requests, "
                f"{logs} ERROR log lines (0)",
            )
    if soak:
        say(soak.errors == 0, f"errors soak: {soak.errors} in {soak.requests} requests (0)")
        say(
            soak.growth <= 0.10,
            f"memory soak: RSS {soak.start_rss_mib:.1f} -> {soak.end_rss_mib:.1f} MiB, "
            f"{soak.growth:+.1%} over {soak.requests} requests (<= +10%)",
        )
    noisy = [c for c in cells if c.other_cpu_pct is not None and c.other_cpu_pct > 10]
    if noisy:
        print(
            f"\nnote: in {len(noisy)} cell(s) more than 10% of the server's CPU did other work "
            "(column 'other': other processes, interrupts, hypervisor steal); when the server "
            "CPU is also below ~90% the machine was not quiet there: compare with care",
            file=out,
        )
    return ok


def revision() -> str:
    """The commit measured, and whether bot/, intents/ or content/ had uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "bot", "intents", "content"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    if not head:
        return "unknown"
    return f"{head} + uncommitted changes in bot/, intents/ or content/" if dirty else head


def csv_ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--concurrency", type=csv_ints, default=[8], help="e.g. 1,8,32")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per cell")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before each cell")
    parser.add_argument("--rounds", type=int, default=1, help="repeat the cells; medians")
    parser.add_argument("--targets", default=",".join(TARGETS), help="ceiling,echo,ours")
    parser.add_argument("--modes", default=",".join(MODES), help="expectReplies,normal")
    parser.add_argument("--soak", type=int, default=0, help="requests to soak ours with")
    parser.add_argument("--soak-step", type=int, default=10_000)
    parser.add_argument("--client", choices=("auto", "wrk", "aiohttp"), default="auto")
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    parser.add_argument("--timeout", type=int, default=5, help="request timeout, seconds")
    parser.add_argument("--logs", type=Path, help="keep the servers' logs in this folder")
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    args = parser.parse_args()
    args.targets = [t for t in TARGETS if t in args.targets.split(",")]
    args.modes = [m for m in MODES if m in args.modes.split(",")]
    if not args.targets or not args.modes or args.rounds < 1:
        parser.error("need at least one target, one mode and one round")

    pin = not args.no_pin and (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None
    server_cpu, load_cpu = (0, 1) if pin else (None, None)
    has_wrk = shutil.which("wrk") is not None
    if args.client == "wrk" and not has_wrk:
        print(f"wrk is not installed; install it with:\n  {WRK_INSTALL}", file=sys.stderr)
        return 2
    if args.client == "auto" and not has_wrk:
        print(
            f"wrk is not installed ({WRK_INSTALL}); using the slower aiohttp client, "
            "which shares the machine's CPUs with the servers",
            file=sys.stderr,
        )

    code = revision()
    started = time.monotonic()
    runs: Runs = {}
    soak: Soak | None = None
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        logs = args.logs or Path(tmp)
        logs.mkdir(parents=True, exist_ok=True)
        gen: Generator = (
            Wrk(load_cpu, Path(tmp), args.timeout)
            if has_wrk and args.client != "aiohttp"
            else AiohttpClient(load_cpu, args.timeout)
        )
        with server("connector", load_cpu, logs) as connector:
            with ExitStack() as stack:
                # All servers up at once (idle ones cost nothing), the targets interleaved
                # per cell, so a neighbour's burst of CPU does not land on one target only.
                servers = {
                    name: stack.enter_context(server(name, server_cpu, logs))
                    for name in args.targets
                }
                for round_no in range(args.rounds):
                    for mode in args.modes:
                        for conc in args.concurrency:
                            # Every other round in reverse order: a machine that drifts
                            # faster or slower within a round favours no target.
                            order = args.targets if round_no % 2 == 0 else args.targets[::-1]
                            for name in order:
                                cell = run_cell(
                                    gen,
                                    servers[name],
                                    connector,
                                    mode,
                                    conc,
                                    args.duration,
                                    args.warmup,
                                    server_cpu,
                                )
                                runs.setdefault((name, mode, conc), []).append(cell)
                                print(
                                    f"round {round_no + 1}: {name:<8} {mode:<13} c={conc:<3} "
                                    f"{cell.rps:6.0f} req/s  p99 {cell.p99_ms:6.1f} ms  "
                                    f"errors {cell.errors}  server CPU {cell.server_cpu_pct:.0f}%",
                                    file=sys.stderr,
                                )
            if args.soak:
                with server("ours", server_cpu, logs) as target:
                    soak = run_soak(gen, target, connector, args.soak, args.soak_step, args.warmup)
                    soak.errors += len(error_lines(target.log))
        elapsed = time.monotonic() - started
        cells = [
            combine(runs[(name, mode, conc)])
            for mode in args.modes
            for conc in args.concurrency
            for name in args.targets
        ]

        out = sys.stdout
        print(f"\nmachine: {machine()}", file=out)
        print(f"code: {code}", file=out)
        placement = (
            "servers pinned to CPU 0, the load generator and the fake connector to CPU 1 (taskset)"
            if pin
            else "no CPU pinning"
        )
        rounds = (
            f", median of {args.rounds} interleaved rounds (order reversed every other round); "
            "ratios are medians of each round's ratio"
            if args.rounds > 1
            else ""
        )
        print(
            f"method: {gen.name}; closed loop, connections = concurrent conversations; "
            f"{args.duration:g} s per cell after a {args.warmup:g} s warm-up{rounds}; "
            f"{len(TEXTS)} rotating texts, unique activity ids; {placement}; "
            f"LOG_LEVEL {os.environ.get('LOG_LEVEL', 'INFO')}, SQLite store in a temp file; "
            f"run took {elapsed:.0f} s",
            file=out,
        )
        print(file=out)
        table(cells, out)
        if soak:
            print(
                f"\nsoak (ours, expectReplies, c=8): {soak.requests} requests in "
                f"{soak.seconds:.0f} s; RSS after warm-up {soak.start_rss_mib:.1f} MiB, "
                "then after each step (MiB): " + " ".join(f"{s.rss_mib:.1f}" for s in soak.steps),
                file=out,
            )
        passed = verdicts(cells, runs, soak, args, out)
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "machine": machine(),
                        "code": code,
                        "generator": gen.name,
                        "pinned": pin,
                        "duration_s": args.duration,
                        "warmup_s": args.warmup,
                        "rounds": args.rounds,
                        "elapsed_s": elapsed,
                        "cells": [asdict(c) for c in cells],
                        "ours_over_echo": {
                            f"{mode} c={conc}": paired(runs, mode, conc, "ours", "echo")
                            for mode in args.modes
                            for conc in args.concurrency
                        },
                        "soak": asdict(soak) if soak else None,
                        "passed": passed,
                    },
                    indent=2,
                ),
                encoding="utf-8",
            )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
