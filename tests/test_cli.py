"""The command lines as people and scripts run them: ``intents match`` and ``bot chat``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from intents.load import load_knowledge

REPO_ROOT = Path(__file__).resolve().parents[1]
RECORD_KEYS = {"text", "outcome", "intent", "score", "candidates"}
# Control characters, an ANSI escape, NUL, DEL, a BOM, U+FFFD, an emoji, a line separator that
# is not a newline, quotes, backslashes and format strings: everything but invalid UTF-8.
GARBAGE = '\x00\x01\x1b[31m\x7f\ufeff\ufffd ÿþ \U0001f600 \u2028 {"a": [1]} \\ C:\\Temp\\ %s {0} \''


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without settings that would change what the CLIs do."""
    drop = ("PYTHONIOENCODING", "PORT", "HOST", "CONTENT_DIR", "LOG_LEVEL", "MAX_BODY_BYTES")
    env = {
        k: v for k, v in os.environ.items() if k not in drop and not k.startswith("MicrosoftApp")
    }
    return {**env, **extra}


def run(
    module: str, *args: str, stdin: str | bytes = b"", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO_ROOT,
        input=data,
        capture_output=True,
        env=env or clean_env(),
        timeout=60,
        check=False,
    )


def json_lines(proc: subprocess.CompletedProcess[bytes]) -> list[dict[str, Any]]:
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    assert b"Traceback" not in proc.stderr
    text = proc.stdout.decode("utf-8")  # strict: the output must be UTF-8
    assert text.endswith("\n")
    # Split on "\n" only: JSON Lines, and U+2028 may legally appear raw inside a string.
    return [json.loads(line) for line in text[:-1].split("\n")]


def assert_record_shape(record: dict[str, Any]) -> None:
    assert record.keys() >= RECORD_KEYS
    assert record["outcome"] in ("answer", "clarify", "fallback")
    assert isinstance(record["score"], float)
    assert isinstance(record["candidates"], list)
    for candidate in record["candidates"]:
        assert set(candidate) == {"intent", "score"}
        assert isinstance(candidate["intent"], str)
        assert isinstance(candidate["score"], float)


def test_match_json_for_one_query() -> None:
    (record,) = json_lines(run("intents", "match", "--json", "6025"))
    assert_record_shape(record)
    assert record["text"] == "6025"
    assert (record["outcome"], record["intent"]) == ("answer", "pcns-6025")
    assert record["candidates"][0] == {"intent": "pcns-6025", "score": record["score"]}
    assert record["lang"] == "en"


def test_match_json_reads_stdin_line_by_line_in_order() -> None:
    queries = ["6025", "", GARBAGE, "hei, full synkronisering er treg", "slow full sync"]
    # The last line arrives with a Windows line ending.
    stdin = "\n".join(queries[:-1]) + "\n" + queries[-1] + "\r\n"
    records = json_lines(run("intents", "match", "--json", stdin=stdin))
    assert [r["text"] for r in records] == queries
    for record in records:
        assert_record_shape(record)
    assert [(r["outcome"], r["intent"]) for r in records] == [
        ("answer", "pcns-6025"),
        ("fallback", None),
        ("fallback", None),
        ("answer", "slow-full-sync"),
        ("answer", "slow-full-sync"),
    ]
    assert records[1]["candidates"] == []
    assert [r["lang"] for r in records] == ["en", "en", "en", "nb", "en"]


def test_match_json_with_norwegian_locale() -> None:
    (record,) = json_lines(run("intents", "match", "--json", "--locale", "nb-NO", "6025"))
    assert (record["outcome"], record["intent"], record["lang"]) == ("answer", "pcns-6025", "nb")


INVALID_UTF8 = b"6025\n\xff\xfe garbage \xc3(\nslow full sync\n"


def test_match_json_output_stays_utf8_for_invalid_input_bytes() -> None:
    records = json_lines(
        run("intents", "match", "--json", stdin=INVALID_UTF8, env=clean_env(LC_ALL="C.UTF-8"))
    )
    assert [r["intent"] for r in records] == ["pcns-6025", None, "slow-full-sync"]


def test_match_survives_invalid_input_bytes_under_a_strict_locale() -> None:
    env = clean_env(PYTHONIOENCODING="utf-8:strict")
    records = json_lines(run("intents", "match", "--json", stdin=INVALID_UTF8, env=env))
    assert [r["intent"] for r in records] == ["pcns-6025", None, "slow-full-sync"]


def test_match_without_json_prints_one_readable_line_per_query() -> None:
    queries = ["6025", "", "hei, full synkronisering er treg", GARBAGE]
    proc = run("intents", "match", stdin="\n".join(queries) + "\n")
    assert (proc.returncode, proc.stderr) == (0, b"")
    lines = proc.stdout.decode("utf-8").removesuffix("\n").split("\n")
    assert len(lines) == len(queries)
    for line, query in zip(lines, queries, strict=True):
        assert not line.startswith("{")
        assert line.endswith(f"<- {query}")
    assert lines[0].split()[:2] == ["answer", "pcns-6025"]
    assert lines[1].split()[:2] == ["fallback", "-"]
    assert lines[2].split()[:2] == ["answer", "slow-full-sync"]


def test_match_joins_arguments_into_one_query() -> None:
    proc = run("intents", "match", "full", "sync", "is", "slow")
    assert proc.returncode == 0
    (line,) = proc.stdout.decode("utf-8").splitlines()
    assert line.split()[:2] == ["answer", "slow-full-sync"]
    assert line.endswith("<- full sync is slow")


def test_bot_chat_answers_from_stdin() -> None:
    catalog = load_knowledge().catalog
    pcns, slow = catalog.topic("pcns-6025"), catalog.topic("slow-full-sync")
    assert pcns is not None
    assert slow is not None
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        cwd=REPO_ROOT,
        input=b"6025\nhei, full synkronisering er treg\n",
        capture_output=True,
        env=clean_env(),
        timeout=20,
        check=False,
    )
    assert time.monotonic() - started < 20
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    assert b"Traceback" not in proc.stderr
    out = proc.stdout.decode("utf-8")
    # The chat echoes each line after "you> "; cut the transcript into the replies to each.
    _, first, second = out.split("\nyou> ")
    assert first.startswith("6025\n")
    assert second.startswith("hei, full synkronisering er treg\n")

    def flat(text: str) -> str:
        return " ".join(text.split()).casefold()

    assert flat(pcns.title.en) in flat(first)
    assert flat(catalog.text("steps_heading", "en")) in flat(first)
    assert flat(slow.title.nb) in flat(second)
    assert flat(catalog.text("steps_heading", "nb")) in flat(second)
    assert flat(slow.title.en) not in flat(second)
