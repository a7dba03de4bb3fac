"""Render every card the bot sends to PNG, the way Teams shows it, for people to look at.

`make preview` builds the cards from content/, renders them all with the official Adaptive Cards
renderer in one headless Chromium (render.js), and writes build/preview/<name>.png, a gallery
(index.html) and report.json. It exits 1 when any card fails to parse or render, logs a console
error, has an image that does not load, or is wider or taller than the limits below; 2 when the
renderer itself cannot run.

Add a card to the preview in ``preview_cards``: one entry, named ``kind/detail/lang``.
"""

from __future__ import annotations

import argparse
import html
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypedDict

from intents.cards import build_card
from intents.knowledge import Knowledge
from intents.load import load_knowledge
from intents.model import LANGS, Lang
from intents.replies import (
    Answer,
    Clarify,
    Fallback,
    Menu,
    Notice,
    Reply,
    UnknownCode,
    answer_topic,
)
from intents.ticket_cards import ticket_card
from intents.tickets import apply_action, new_ticket

Card = dict[str, Any]
TOOL_DIR = Path(__file__).resolve().parent
REPO_ROOT = TOOL_DIR.parents[1]
RENDER_JS = TOOL_DIR / "render.js"
DEFAULT_OUT = REPO_ROOT / "build" / "preview"

# Width. Microsoft publishes no pixel width for cards: "Adaptive card width is managed by Microsoft
# Teams" (OfficeDev/BotBuilder-MicrosoftTeams#193), a normal card takes about 60-70% of the chat
# column there, and with "msteams": {"width": "Full"} (which every card of ours sets) the card
# takes the conversation column in classic Teams but "no more than around two thirds" of it in new
# Teams chats and channels (microsoft/AdaptiveCards#8692, MicrosoftDocs/msteams-docs#9602).
# Microsoft's Adaptive Cards designer shows its Teams host between 400 and 726 px wide. On a
# 1366 px laptop screen with the chat list open, two thirds of the conversation column is about
# 600 px, so cards are rendered at 600 px: a common desktop width at the narrow end, where text
# wraps most and buttons have least room. Nothing may draw outside that width.
RENDER_WIDTH_PX = 600
MAX_WIDTH_PX = RENDER_WIDTH_PX
# Height. Teams has no height limit for a card; it folds a long message behind "See more"
# (MicrosoftDocs/msteams-docs#8808, microsoft/AdaptiveCards#4583) and mobile lets it run on. A
# card past about four screens of a 1080p desktop (3000 px) hides its buttons ("Did this help?",
# "Escalate") far below the fold even when expanded, so that is the limit.
MAX_HEIGHT_PX = 3000

RUN_STATUS_CODE = "stopped-connectivity"
UNKNOWN_CODE = "stopped-foo"
# Questions only ride along in button data, but realistic ones keep the card JSON realistic.
QUESTION = {"en": "the full import keeps failing", "nb": "full import feiler hele tiden"}
KIND_TITLES = {
    "answer": "Topic answers",
    "run-status": "Run status answers",
    "clarify": "Clarify: which topic?",
    "fallback": "Fallback: not understood",
    "unknown-code": "Unknown code",
    "welcome": "Welcome",
    "notice": "Notices",
    "ticket": "Helpdesk tickets",
}


class CardResult(TypedDict):
    name: str
    file: str
    width: int
    height: int
    errors: list[str]
    warnings: list[str]


class Report(TypedDict):
    browser: str
    font: str
    width: int
    maxWidth: int
    maxHeight: int
    seconds: float
    cards: list[CardResult]


class RenderError(RuntimeError):
    """The renderer could not run at all (no node, no Chromium, bad input); no card was judged."""


def preview_replies(kb: Knowledge) -> dict[str, Reply]:
    """Every reply worth looking at, named ``kind/detail/lang``, in gallery order."""
    topics = kb.catalog.topics
    run_status = kb.catalog.codes[RUN_STATUS_CODE]
    near = tuple(c for c in kb.catalog.codes.values() if c.code.startswith("stopped-"))[:3]
    replies: dict[str, Reply] = {}
    for lang in LANGS:
        question = QUESTION[lang]
        for topic in topics:
            replies[f"answer/{topic.id}/{lang}"] = answer_topic(kb, topic, lang, question, None)
        run_topic = kb.catalog.topic(run_status.topic)
        if run_topic is None:  # content validation makes this impossible
            raise LookupError(f"{RUN_STATUS_CODE} names an unknown topic {run_status.topic}")
        replies[f"run-status/{RUN_STATUS_CODE}/{lang}"] = Answer(
            run_topic, lang, question, code=run_status, matched=(run_status.code,)
        )
        replies[f"clarify/two-topics/{lang}"] = Clarify(topics[:2], lang, question, ("full",))
        replies[f"fallback/all-topics/{lang}"] = Fallback(topics, lang, question)
        replies[f"unknown-code/{UNKNOWN_CODE}/{lang}"] = UnknownCode(
            UNKNOWN_CODE, near, lang, question
        )
        replies[f"welcome/menu/{lang}"] = Menu(topics, lang, welcome=True)
        replies[f"notice/feedback-sorry/{lang}"] = Notice(
            "feedback_sorry", lang, topics[0].id, question, offer_escalation=True
        )
    return replies


SAMPLE_TICKET = new_ticket(
    ticket="T-1A2B3C",
    asker={"id": "29:kari", "name": "Kari Nordmann", "aad_id": ""},
    asker_ref={},
    question="Full sync on the FIM Service MA has run for 14 hours and tempdb keeps growing",
    topic="slow-full-sync",
    steps=[],
    lang="en",
    now="2026-11-26T08:15:00Z",
)


def preview_cards(kb: Knowledge) -> dict[str, Card]:
    """Every card to preview, name -> Adaptive Card JSON. Add new cards here."""
    cards = {name: build_card(reply, kb.catalog) for name, reply in preview_replies(kb).items()}
    topic = kb.catalog.topic("slow-full-sync")
    for lang in LANGS:
        steps = list(topic.steps[lang]) if topic else []
        record = {**SAMPLE_TICKET, "steps_shown": steps, "lang": lang}
        cards[f"ticket/open/{lang}"] = ticket_card(record, kb.catalog, lang)
        assigned = apply_action(record, "assign", {"id": "29:hans", "name": "Hans"}, "now", 1)
        if assigned is not None:
            cards[f"ticket/assigned/{lang}"] = ticket_card(assigned, kb.catalog, lang)
    return cards


def file_name(name: str) -> str:
    """The PNG file for a card name: ``answer/pcns-6025/en`` -> ``answer_pcns-6025_en.png``."""
    safe = "".join(c if c.isalnum() or c in "-." else "_" for c in name)
    return f"{safe}.png"


def card_lang(name: str) -> Lang | None:
    last = name.rsplit("/", 1)[-1]
    return next((lang for lang in LANGS if lang == last), None)


def render_cards(
    cards: Mapping[str, Card],
    out_dir: Path,
    *,
    width: int = RENDER_WIDTH_PX,
    max_width: int = MAX_WIDTH_PX,
    max_height: int = MAX_HEIGHT_PX,
) -> Report:
    """Render ``cards`` into ``out_dir`` (PNGs and report.json) in one browser; the report."""
    node = shutil.which("node")
    if node is None:
        raise RenderError("node is not on PATH; run `make setup` (Node.js 20 is required)")
    if not (TOOL_DIR / "node_modules" / "playwright-core").is_dir():
        raise RenderError(f"{TOOL_DIR / 'node_modules'} is missing; run `make setup`")
    entries = [{"name": n, "file": file_name(n), "card": c} for n, c in cards.items()]
    if len({e["file"] for e in entries}) != len(entries):
        raise RenderError("two card names map to the same PNG file name")
    payload = {"width": width, "maxWidth": max_width, "maxHeight": max_height, "cards": entries}
    out_dir.mkdir(parents=True, exist_ok=True)
    _remove_previous(out_dir)
    with tempfile.TemporaryDirectory(prefix="preview-") as tmp:
        cards_json = Path(tmp) / "cards.json"
        cards_json.write_text(json.dumps(payload), encoding="utf-8")
        proc = subprocess.run(
            [node, str(RENDER_JS), str(cards_json), str(out_dir)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    if proc.returncode not in (0, 1) or not (out_dir / "report.json").is_file():
        raise RenderError(f"render.js failed (exit {proc.returncode}): {proc.stderr.strip()}")
    return load_report(out_dir)


def _remove_previous(out_dir: Path) -> None:
    """Delete the PNGs and report of an earlier run, so a renamed card leaves nothing behind."""
    if not (out_dir / "report.json").is_file():
        return
    for result in load_report(out_dir)["cards"]:
        (out_dir / Path(result["file"]).name).unlink(missing_ok=True)
    (out_dir / "report.json").unlink()


def load_report(out_dir: Path) -> Report:
    """The report.json that render.js wrote into ``out_dir``."""
    report: Report = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
    return report


def failures(report: Report) -> dict[str, list[str]]:
    """Cards with errors, name -> errors; empty when every card rendered cleanly."""
    return {c["name"]: c["errors"] for c in report["cards"] if c["errors"]}


def _card_html(result: CardResult) -> str:
    lang = card_lang(result["name"]) or "-"
    notes = [("error", e) for e in result["errors"]] + [("warning", w) for w in result["warnings"]]
    items = "".join(f'<li class="{cls}">{html.escape(text)}</li>' for cls, text in notes)
    return (
        f'<figure id="{html.escape(result["name"])}">'
        f"<figcaption><b>{html.escape(result['name'])}</b> "
        f"<span>{result['width']} &times; {result['height']} px &middot; {lang}</span>"
        f"{f'<ul>{items}</ul>' if items else ''}</figcaption>"
        f'<img src="{html.escape(result["file"])}" width="{result["width"]}" '
        f'alt="{html.escape(result["name"])}" loading="lazy"></figure>'
    )


def gallery_html(report: Report) -> str:
    """The gallery page: every card's PNG, grouped by kind, with its size, language and notes."""
    groups: dict[str, list[CardResult]] = {}
    for result in report["cards"]:
        groups.setdefault(result["name"].split("/", 1)[0], []).append(result)
    sections = "".join(
        f"<section><h2>{html.escape(KIND_TITLES.get(kind, kind))} ({len(results)})</h2>"
        f"{''.join(_card_html(r) for r in results)}</section>"
        for kind, results in groups.items()
    )
    failed = len(failures(report))
    status = f"{failed} card(s) with errors" if failed else "no errors"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Card previews</title><style>
body {{ font-family: 'Segoe UI', system-ui, sans-serif; background: #f5f5f5; color: #242424;
  margin: 24px; }}
section {{ display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }}
h2 {{ flex-basis: 100%; margin: 24px 0 0; }}
figure {{ margin: 0; }}
figcaption {{ margin-bottom: 6px; font-size: 13px; max-width: {report["width"]}px; }}
figcaption span {{ color: #616161; }}
.error {{ color: #c4314b; }} .warning {{ color: #835c00; }}
</style></head><body>
<h1>Card previews</h1>
<p>{len(report["cards"])} cards, {status}. Rendered {report["width"]} px wide (limits
{report["maxWidth"]} &times; {report["maxHeight"]} px) by the Adaptive Cards JS renderer in
{html.escape(report["browser"])}, text in {html.escape(report["font"])}.</p>
{sections}
</body></html>
"""


def write_gallery(report: Report, out_dir: Path) -> Path:
    index = out_dir / "index.html"
    index.write_text(gallery_html(report), encoding="utf-8")
    return index


def _summary(report: Report) -> str:
    tallest = max(report["cards"], key=lambda c: c["height"])
    widest = max(report["cards"], key=lambda c: c["width"])
    warned = sum(1 for c in report["cards"] if c["warnings"])
    return (
        f"{len(report['cards'])} cards in {report['seconds']} s ({report['browser']}, "
        f"{report['font']}); widest {widest['name']} {widest['width']} px, tallest "
        f"{tallest['name']} {tallest['height']} px; {warned} with warnings"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)
    kb = load_knowledge()
    try:
        report = render_cards(preview_cards(kb), args.out)
    except (RenderError, subprocess.TimeoutExpired) as err:
        print(f"preview: {err}", file=sys.stderr)
        return 2
    index = write_gallery(report, args.out)
    print(_summary(report))
    for result in report["cards"]:
        for warning in result["warnings"]:
            print(f"warning: {result['name']}: {warning}")
    for name, errors in failures(report).items():
        for error in errors:
            print(f"error: {name}: {error}", file=sys.stderr)
    print(f"gallery: {index}")
    return 1 if failures(report) else 0


if __name__ == "__main__":
    sys.exit(main())
