"""Logging set-up: one JSON object per line in production, key=value text in local mode.

Structured fields travel as ``extra=`` on the record; both formatters show them. The per-turn
line carries ids, outcome, intent, score and latency at INFO; the user's words go only to DEBUG.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.settings import Settings
from intents.matcher import Match
from intents.replies import ACTIONS, Answer, Clarify, Fallback, Menu, Reply, UnknownCode
from intents.tickets import TICKET_ACTIONS

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# Attributes every LogRecord has; anything else on a record came in through ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}
# Loggers whose message already spells out their extras (aiohttp's access log).
_SELF_DESCRIBING = frozenset({"aiohttp.access"})

turn_log = logging.getLogger("bot.turn")


def extras(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a record was given with ``extra=``."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the extras, and any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        created = datetime.fromtimestamp(record.created, UTC)
        out: dict[str, Any] = {
            "time": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in extras(record).items():
            out.setdefault(key, value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The classic text line followed by the record's extras as ``key=value``."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        if record.name in _SELF_DESCRIBING:
            return line
        return line + "".join(f" {k}={_text_value(v)}" for k, v in extras(record).items())


def _text_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if text and not any(c.isspace() or c in "\"'=" for c in text):
        return text
    return json.dumps(text, ensure_ascii=False)


def chosen_format(settings: Settings) -> str:
    """LOG_FORMAT if set; otherwise JSON in production and text in local mode."""
    if settings.log_format:
        return settings.log_format
    return "text" if settings.local_mode else "json"


class _BotHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The stderr handler configure_logging installs (and replaces on a second call)."""


def configure_logging(level: str, fmt: str = "text") -> None:
    """Send log records at ``level`` and above to stderr in ``fmt`` (json or text).

    Calling it again replaces its own handler and leaves anyone else's (a test runner's) alone.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _BotHandler)]:
        root.removeHandler(old)
    handler = _BotHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level.upper())


@dataclass
class TurnRecord:
    """What a turn did, filled in as it goes; logged and counted when it ends."""

    outcome: str = "none"
    intent: str | None = None  # the topic answered, or the matcher's verdict
    score: float | None = None  # the matcher's score, for turns that matched text
    text: str | None = None  # the user's words: DEBUG only, never at INFO

    def replied(self, reply: Reply, found: Match | None) -> None:
        """A text turn got ``reply``, resting on the matcher's ``found`` (None: no matching)."""
        self.outcome = reply_outcome(reply)
        matched = found.intent if found else None
        self.intent = reply.topic.id if isinstance(reply, Answer) else matched
        self.score = found.score if found else None


def reply_outcome(reply: Reply) -> str:
    if isinstance(reply, Answer):
        return "answer"
    if isinstance(reply, Clarify):
        return "clarify"
    if isinstance(reply, UnknownCode):
        return "unknown_code"
    if isinstance(reply, Fallback):
        return "fallback"
    if isinstance(reply, Menu):
        return "menu"
    return "notice"


def action_outcome(action: object) -> str:
    """``action:<name>`` for a known button action; button data is user input, so any other
    value is ``action:other`` (it becomes a metric label)."""
    known = action in ACTIONS or action in TICKET_ACTIONS
    return f"action:{action}" if known else "action:other"


def log_turn(
    activity_id: str | None, conversation_id: str | None, turn: TurnRecord, seconds: float
) -> None:
    """The one INFO line per turn; the user's raw text only in a second line at DEBUG."""
    turn_log.info(
        "turn",
        extra={
            "activity_id": activity_id,
            "conversation_id": conversation_id,
            "outcome": turn.outcome,
            "intent": turn.intent,
            "score": None if turn.score is None else round(turn.score, 3),
            "latency_ms": round(seconds * 1000, 1),
        },
    )
    if turn.text is not None:
        turn_log.debug("turn text", extra={"activity_id": activity_id, "text": turn.text})
