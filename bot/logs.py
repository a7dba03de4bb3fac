"""Logging set-up: one JSON object per line in production, key=value text in local mode.

Structured fields travel as ``extra=`` on the record; both formatters show them. The per-turn
line carries ids, outcome, intent, score and latency at INFO; the user's words go only to DEBUG.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web, web_log

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

# One line per turn, not two: the messages handler marks a request whose turn wrote the turn
# line (which says more than aiohttp's access line), and AccessLogger leaves that request out.
# Requests that never became a turn, or failed, keep their access line.
turn_logged: ContextVar[bool] = ContextVar("turn_logged", default=False)
TURN_LOGGED = web.RequestKey("turn_logged", bool)


class AccessLogger(web_log.AccessLogger):
    """aiohttp's access log, without the line for a request its turn line already covers."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if request.get(TURN_LOGGED, False) and response.status < 400:
            return
        super().log(request, response, time)


def extras(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a record was given with ``extra=``."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and k[:1] != "_"}


# Every request writes a line (its turn line or its access line), each paying for a timestamp
# and its values: the formatters below avoid the standard library's slow paths (strftime, and
# a new JSON encoder per value or line) without changing what they print.
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)


class _SecondCache:
    """The formatted part of a timestamp that only changes once a second."""

    def __init__(self, render: Callable[[int], str]) -> None:
        self._render = render
        self._second = -1
        self._text = ""

    def __call__(self, second: int) -> str:
        if second != self._second:
            self._text = self._render(second)
            self._second = second
        return self._text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the extras, and any traceback."""

    def __init__(self) -> None:
        super().__init__()
        self._utc = _SecondCache(
            lambda s: datetime.fromtimestamp(s, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        )

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        millis = min(999, int((record.created - second) * 1000))
        out: dict[str, Any] = {
            "time": f"{self._utc(second)}.{millis:03d}Z",
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
        return _ENCODER.encode(out)


class TextFormatter(logging.Formatter):
    """The classic text line followed by the record's extras as ``key=value``."""

    def __init__(self, fmt: str | None = None, datefmt: str | None = None) -> None:
        super().__init__(fmt, datefmt)
        self._local = _SecondCache(
            lambda s: time.strftime(self.default_time_format, self.converter(s))
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if datefmt:
            return super().formatTime(record, datefmt)
        # The standard "2026-11-26 07:33:22,123", formatted once a second instead of per line.
        return f"{self._local(int(record.created))},{int(record.msecs):03d}"

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        if record.name in _SELF_DESCRIBING:
            return line
        return line + "".join(f" {k}={_text_value(v)}" for k, v in extras(record).items())


_NEEDS_QUOTES = re.compile(r"[\s\"'=]")


def _text_value(value: Any) -> str:
    kind = type(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float and math.isfinite(value):
        return repr(value)  # what JSON writes for a finite float
    text = value if kind is str else _ENCODER.encode(value)
    if text and text.isprintable() and not _NEEDS_QUOTES.search(text):
        return text
    return _ENCODER.encode(text)


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
    if turn_log.isEnabledFor(logging.INFO):
        fields = {
            "activity_id": activity_id,
            "conversation_id": conversation_id,
            "outcome": turn.outcome,
            "intent": turn.intent,
            "score": None if turn.score is None else round(turn.score, 3),
            "latency_ms": round(seconds * 1000, 1),
        }
        # Made and handled directly: the line's source is known, so logging need not walk the
        # stack to find it (Logger.info would, on every turn).
        turn_log.handle(
            turn_log.makeRecord(
                turn_log.name, logging.INFO, __file__, 0, "turn", (), None, extra=fields
            )
        )
        turn_logged.set(True)
    if turn.text is not None:
        turn_log.debug("turn text", extra={"activity_id": activity_id, "text": turn.text})
