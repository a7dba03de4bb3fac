"""Helpdesk tickets as plain JSON records, and the pure rules for changing them."""

from __future__ import annotations

import hashlib
import re
from typing import Any, Literal

from intents.text import fold

Record = dict[str, Any]
TicketAction = Literal["assign", "resolve", "reopen"]
TICKET_ACTIONS: tuple[TicketAction, ...] = ("assign", "resolve", "reopen")
TICKET_ID = re.compile(r"T-[0-9A-F]{6}")
# Which actions each status allows; the ticket card shows exactly these buttons.
ALLOWED: dict[str, tuple[TicketAction, ...]] = {
    "open": ("assign", "resolve"),
    "assigned": ("assign", "resolve"),
    "resolved": ("reopen",),
}


def ticket_id(asker_id: str, conversation_id: str, question: str, intent: str | None) -> str:
    """Deterministic id: the same question escalated twice (double click, retry) is one ticket."""
    key = "\x1f".join(
        [asker_id, conversation_id.split(";")[0], fold(question.strip()), intent or ""]
    )
    return "T-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:6].upper()


def new_ticket(
    *,
    ticket: str,
    asker: Record,
    asker_ref: Record,
    question: str,
    topic: str | None,
    steps: list[str],
    lang: str,
    now: str,
) -> Record:
    return {
        "id": ticket,
        "status": "open",
        "version": 1,
        "asker": asker,
        "asker_ref": asker_ref,
        "question": question,
        "topic": topic,
        "steps_shown": steps,
        "lang": lang,
        "created": now,
        "updated": now,
        "assignee": None,
        "history": [{"action": "open", "by": asker.get("name", ""), "at": now}],
        "card": None,
    }


def apply_action(
    record: Record, action: str, actor: Record, now: str, version: int | None
) -> Record | None:
    """The ticket after ``action`` by ``actor``, or None when it does not apply.

    ``version`` is the ticket version the pressed card showed: a second click on the same card,
    or a retried request, finds a newer version and changes nothing.
    """
    if version is not None and record.get("version") != version:
        return None
    if action not in ALLOWED.get(record.get("status", ""), ()):
        return None
    if action == "assign" and (record.get("assignee") or {}).get("id") == actor.get("id"):
        return None
    changed = dict(record)
    if action == "assign":
        changed["status"], changed["assignee"] = "assigned", actor
    elif action == "resolve":
        changed["status"] = "resolved"
    else:
        changed["status"] = "open"
    changed["version"] = int(record.get("version", 0)) + 1
    changed["updated"] = now
    entry = {"action": action, "by": actor.get("name", ""), "by_id": actor.get("id", ""), "at": now}
    changed["history"] = [*record.get("history", []), entry]
    return changed


def with_card(record: Record, card: Record) -> Record | None:
    """Remember where the ticket's card lives in the helpdesk channel (once)."""
    if record.get("card"):
        return None
    return {**record, "card": card}
