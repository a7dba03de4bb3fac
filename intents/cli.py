"""Command line: ``python -m intents check | match [--json] [--locale L] [TEXT...] | eval F``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO, TextIO

from intents.content import ContentError
from intents.evaluate import evaluate, format_report, load_labelled
from intents.language import choose_language
from intents.load import DEFAULT_CONTENT, load_knowledge
from intents.matcher import Index, Match, match
from intents.model import Lang


def match_record(
    text: str, found: Match, locale: str | None, hints: Mapping[str, Lang] | None = None
) -> dict[str, object]:
    """The stable JSON shape of one ``intents match --json`` line."""
    return {
        "text": text,
        "outcome": found.outcome,
        "intent": found.intent,
        "score": found.score,
        "candidates": [{"intent": c.intent, "score": c.score} for c in found.candidates],
        "entity": found.entity,
        "matched": list(found.matched),
        "unknown_code": found.unknown_code,
        "suggestions": list(found.suggestions),
        "lang": choose_language(text, locale, hints),
    }


def _readable(text: str, found: Match) -> str:
    cands = ", ".join(f"{c.intent} {c.score:.0f}" for c in found.candidates[:3]) or "-"
    head = f"{found.outcome:<8} {found.intent or '-':<34} {found.score:5.1f}"
    extra = f"  entity={found.entity}" if found.entity else ""
    if found.unknown_code:
        extra = f"  unknown={found.unknown_code} nearest={','.join(found.suggestions)}"
    return f"{head}  [{cands}]{extra}  <- {text}"


def _queries(texts: Sequence[str], stdin: BinaryIO) -> Iterable[str]:
    if texts:
        yield " ".join(texts)
        return
    # Bytes in, decoded leniently: a pasted log with stray bytes must not end the run.
    for raw in stdin:
        yield raw.decode("utf-8", errors="replace").rstrip("\r\n")


def _eval(index: Index, args: argparse.Namespace, stdout: TextIO) -> int:
    report = evaluate(index, load_labelled(args.files))
    print(format_report(report), file=stdout)
    failed = []
    if report.score < args.min_score:
        failed.append(f"score {report.score:.1%} < {args.min_score:.1%}")
    if report.rejection < args.min_rejection:
        failed.append(f"rejection {report.rejection:.1%} < {args.min_rejection:.1%}")
    for reason in failed:
        print(f"FAIL: {reason}", file=stdout)
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None, stdout: TextIO = sys.stdout) -> int:
    # --content works before or after the subcommand.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--content", type=Path, default=argparse.SUPPRESS, help="content folder")
    parser = argparse.ArgumentParser(prog="python -m intents", description=__doc__)
    parser.add_argument("--content", type=Path, default=DEFAULT_CONTENT, help="content folder")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", parents=[common], help="validate the content; non-zero on problems")
    m = sub.add_parser("match", parents=[common], help="match TEXT (or one query per stdin line)")
    m.add_argument("--json", action="store_true", help="one JSON object per line")
    m.add_argument("--locale", default=None, help="the user's locale, e.g. nb-NO")
    m.add_argument("text", nargs="*")
    e = sub.add_parser("eval", parents=[common], help="score the matcher on labelled YAML files")
    e.add_argument("files", nargs="+", type=Path)
    e.add_argument("--min-score", type=float, default=0.0, help="fail under this (0-1)")
    e.add_argument("--min-rejection", type=float, default=0.0, help="fail under this (0-1)")
    args = parser.parse_args(argv)
    try:
        kb = load_knowledge(args.content)
    except ContentError as exc:
        print(exc, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) in {args.content}", file=sys.stderr)
        return 1
    if args.command == "check":
        print(f"ok: {len(kb.catalog.topics)} topics, {len(kb.catalog.codes)} codes", file=stdout)
        return 0
    if args.command == "eval":
        return _eval(kb.index, args, stdout)
    for text in _queries(args.text, sys.stdin.buffer):
        found = match(kb.index, text)
        if args.json:
            record = match_record(text, found, args.locale, kb.lang_hints)
            print(json.dumps(record, ensure_ascii=False), file=stdout, flush=True)
        else:
            print(_readable(text, found), file=stdout, flush=True)
    return 0
