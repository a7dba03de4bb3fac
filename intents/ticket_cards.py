"""Cards for the helpdesk: the ticket card in the channel, and short notices with parameters.

Anything a user typed goes into a RichTextBlock TextRun, which Teams shows as literal text:
no Markdown, no links, no mentions can be injected through a question.
"""

from __future__ import annotations

from typing import Any

from intents.cards import Card, card_shell, text_block, title_block
from intents.model import Catalog, Lang
from intents.tickets import ALLOWED, Record

TICKET_UI_KEYS = frozenset(
    """ticket_title status_open status_assigned status_assigned_to status_resolved ticket_status
    ticket_assignee ticket_asked_by
    ticket_created ticket_language ticket_topic ticket_no_topic ticket_question
    ticket_suggested ticket_assign ticket_resolve ticket_reopen escalated escalated_no_helpdesk
    already_escalated asker_update helpdesk_registered helpdesk_show helpdesk_from_config
    helpdesk_none helpdesk_elsewhere helpdesk_personal helpdesk_unset not_helpdesk
    ticket_unknown ticket_unchanged store_unavailable stats_title stats_topics stats_open
    stats_unanswered stats_none""".split()
)
LANGUAGE_NAMES = {"en": "English", "nb": "norsk"}


_MARKUP = str.maketrans({c: " " for c in "*_[]()<>#~`|!\\"})


def inert(text: str) -> str:
    """Text from outside (a display name, a channel name, an id from button data) made safe for
    places Teams reads as Markdown: no emphasis, links, mentions or autolinked URLs."""
    return " ".join(text.translate(_MARKUP).replace("://", ": //").split())


def literal(text: str, **style: Any) -> dict[str, Any]:
    """User-supplied text, shown exactly as typed."""
    return {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": text, **style}]}


def status_text(record: Record, catalog: Catalog, lang: Lang) -> str:
    """The status for a notice: "Assigned to Hans" (the name made inert), "Resolved"."""
    status = str(record.get("status", "open"))
    if status == "assigned":
        assignee = record.get("assignee") or {}
        name = inert(str(assignee.get("name") or "?"))
        return catalog.text("status_assigned_to", lang).format(name=name)
    return catalog.text(f"status_{status}", lang)


def ticket_card(record: Record, catalog: Catalog, lang: Lang) -> Card:
    """The card posted as a thread in the helpdesk channel and updated in place."""
    asker = record.get("asker") or {}
    status = str(record.get("status", "open"))
    topic = catalog.topic(record.get("topic") or "")
    facts = [
        (catalog.text("ticket_status", lang), catalog.text(f"status_{status}", lang)),
        (catalog.text("ticket_created", lang), str(record.get("created", ""))),
        (catalog.text("ticket_language", lang), LANGUAGE_NAMES.get(record.get("lang", ""), "?")),
        (
            catalog.text("ticket_topic", lang),
            topic.title.get(lang) if topic else catalog.text("ticket_no_topic", lang),
        ),
    ]
    body: list[dict[str, Any]] = [
        title_block(catalog.text("ticket_title", lang).format(ticket=record["id"])),
        text_block(catalog.text("ticket_asked_by", lang), weight="Bolder", spacing="Small"),
        literal(str(asker.get("name") or asker.get("id") or "?")),
        {"type": "FactSet", "facts": [{"title": t, "value": inert(v)} for t, v in facts]},
    ]
    assignee = record.get("assignee") or {}
    if status == "assigned" and assignee:
        body += [
            text_block(catalog.text("ticket_assignee", lang), weight="Bolder", spacing="Small"),
            literal(str(assignee.get("name") or assignee.get("id") or "?")),
        ]
    body += [
        text_block(catalog.text("ticket_question", lang), weight="Bolder"),
        {"type": "Container", "style": "emphasis", "items": [literal(str(record["question"]))]},
    ]
    steps = record.get("steps_shown") or []
    if steps:
        body.append(text_block(catalog.text("ticket_suggested", lang), weight="Bolder"))
        body.extend(text_block(f"{n}. {s}", spacing="Small") for n, s in enumerate(steps, 1))
    actions = [
        {
            "type": "Action.Submit",
            "title": catalog.text(f"ticket_{action}", lang),
            "data": {"action": action, "ticket": record["id"], "version": record.get("version")},
        }
        for action in ALLOWED.get(str(record.get("status")), ())
    ]
    body.append({"type": "ActionSet", "actions": actions})
    return card_shell(body)


def info_card(catalog: Catalog, key: str, lang: Lang, quote: str = "", **params: str) -> Card:
    """A short notice from the helpdesk flow, optionally quoting the user's question."""
    safe = {name: inert(value) for name, value in params.items()}
    body: list[dict[str, Any]] = [text_block(catalog.text(key, lang).format(**safe))]
    if quote:
        body.append({"type": "Container", "style": "emphasis", "items": [literal(quote)]})
    return card_shell(body)
