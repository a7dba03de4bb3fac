"""Adaptive Cards 1.5 built by pure functions from neutral replies, shaped for Microsoft Teams."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from intents.model import Catalog, Lang, Topic
from intents.replies import Answer, Clarify, Fallback, Menu, Notice, Reply, UnknownCode

Card = dict[str, Any]
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"

# UI strings the cards need; content/ui.yaml must define every one (checked at load).
UI_KEYS = frozenset(
    """welcome_title welcome_text menu_title menu_text steps_heading code_heading
    code_checks_heading matched_on did_it_help answer_yes answer_no escalate clarify_title
    clarify_text fallback_title fallback_text feedback_thanks feedback_sorry escalate_ack
    unknown_action unsupported_message internal_error unknown_code_title unknown_code_text
    clarify_why""".split()
)


def build_card(reply: Reply, catalog: Catalog, interactive: bool = True) -> Card:
    """The card for any reply; ``interactive=False`` leaves out buttons that talk to the bot
    (for cards a user inserts into a chat through the message extension)."""
    match reply:
        case Answer():
            return _answer(reply, catalog, interactive)
        case Clarify():
            return _clarify(reply, catalog)
        case Fallback():
            return _fallback(reply, catalog)
        case UnknownCode():
            return _unknown_code(reply, catalog)
        case Menu():
            return _menu(reply, catalog)
        case Notice():
            return _notice(reply, catalog)


def card_shell(body: list[dict[str, Any]]) -> Card:
    """An Adaptive Card 1.5 with ``body``, using the full message width in Teams."""
    return {
        "type": "AdaptiveCard",
        "$schema": SCHEMA,
        "version": VERSION,
        "msteams": {"width": "Full"},
        "body": body,
    }


def text_block(text: str, **style: Any) -> dict[str, Any]:
    # Teams' card Markdown has no inline code; content keeps backticks for readability in YAML.
    return {"type": "TextBlock", "text": text.replace("`", ""), "wrap": True, **style}


def title_block(text: str) -> dict[str, Any]:
    return text_block(text, size="Large", weight="Bolder", style="heading")


def _numbered(items: Sequence[str]) -> list[dict[str, Any]]:
    return [text_block(f"{n}. {item}", spacing="Small") for n, item in enumerate(items, 1)]


def _submit(title: str, data: dict[str, Any], style: str | None = None) -> dict[str, Any]:
    action: dict[str, Any] = {"type": "Action.Submit", "title": title, "data": data}
    if style:
        action["style"] = style
    return action


def _actions(*actions: dict[str, Any]) -> dict[str, Any]:
    return {"type": "ActionSet", "actions": list(actions)}


def _escalate(catalog: Catalog, lang: Lang, intent: str | None, question: str) -> dict[str, Any]:
    data = {"action": "escalate", "intent": intent, "lang": lang, "question": question}
    return _submit(catalog.text("escalate", lang), data)


def _topic_buttons(topics: Sequence[Topic], lang: Lang, action: str, question: str) -> list[Any]:
    # One ActionSet per topic: Teams stacks them as full-width buttons instead of overflowing.
    return [
        _actions(
            _submit(
                t.label.get(lang),
                {"action": action, "intent": t.id, "lang": lang, "question": question},
            )
        )
        for t in topics
    ]


def _answer(reply: Answer, catalog: Catalog, interactive: bool = True) -> Card:
    lang, topic = reply.lang, reply.topic
    body: list[dict[str, Any]] = [
        title_block(topic.title.get(lang)),
        text_block(topic.symptom.get(lang)),
    ]
    if reply.code is not None:
        code = reply.code
        heading = f"{catalog.text('code_heading', lang)}: {code.code}"
        items = [
            text_block(heading, weight="Bolder"),
            text_block(code.meaning.get(lang)),
            text_block(catalog.text("code_checks_heading", lang), weight="Bolder", spacing="Small"),
            *_numbered(code.checks[lang]),
        ]
        body.append({"type": "Container", "style": "emphasis", "bleed": True, "items": items})
    body.append(text_block(catalog.text("steps_heading", lang), weight="Bolder", spacing="Medium"))
    body.extend(_numbered(topic.steps[lang]))
    # One ActionSet per link, as for topic buttons: side by side Teams would cut the titles.
    body.extend(
        _actions({"type": "Action.OpenUrl", "title": link.title.get(lang), "url": link.url})
        for link in topic.links
    )
    if reply.matched:
        note = f"{catalog.text('matched_on', lang)}: {', '.join(reply.matched)}"
        body.append(text_block(note, size="Small", isSubtle=True, spacing="Small"))
    if not interactive:
        return card_shell(body)
    feedback = {"action": "feedback", "intent": topic.id, "lang": lang, "question": reply.question}
    body.append(text_block(catalog.text("did_it_help", lang), weight="Bolder", spacing="Medium"))
    body.append(
        _actions(
            _submit(catalog.text("answer_yes", lang), {**feedback, "helpful": True}, "positive"),
            _submit(catalog.text("answer_no", lang), {**feedback, "helpful": False}),
            _escalate(catalog, lang, topic.id, reply.question),
        )
    )
    return card_shell(body)


def _topic_choice(
    catalog: Catalog,
    lang: Lang,
    kind: str,
    topics: Sequence[Topic],
    action: str,
    question: str,
    note: str = "",
) -> Card:
    """Title and text ``{kind}_title``/``{kind}_text``, topic buttons, then escalation."""
    body = [
        title_block(catalog.text(f"{kind}_title", lang)),
        text_block(catalog.text(f"{kind}_text", lang)),
    ]
    if note:
        body.append(text_block(note, size="Small", isSubtle=True, spacing="Small"))
    body.extend(_topic_buttons(topics, lang, action, question))
    body.append(_actions(_escalate(catalog, lang, None, question)))
    return card_shell(body)


def _clarify(reply: Clarify, catalog: Catalog) -> Card:
    why = ""
    if reply.matched:
        why = catalog.text("clarify_why", reply.lang).format(terms=", ".join(reply.matched))
    return _topic_choice(
        catalog, reply.lang, "clarify", reply.topics, "choose", reply.question, why
    )


def _unknown_code(reply: UnknownCode, catalog: Catalog) -> Card:
    lang = reply.lang
    # The code is echoed, but only ever letters and hyphens (see intents.codes.unknown_codes).
    body = [
        title_block(catalog.text("unknown_code_title", lang).format(code=reply.code)),
        text_block(catalog.text("unknown_code_text", lang)),
    ]
    for info in reply.suggestions:
        data = {
            "action": "choose",
            "intent": info.topic,
            "code": info.code,
            "lang": lang,
            "question": reply.question,
        }
        body.append(_actions(_submit(info.code, data)))
        body.append(text_block(info.meaning.get(lang), isSubtle=True, size="Small", spacing="None"))
    body.append(_actions(_escalate(catalog, lang, None, reply.question)))
    return card_shell(body)


def _fallback(reply: Fallback, catalog: Catalog) -> Card:
    return _topic_choice(catalog, reply.lang, "fallback", reply.topics, "topic", reply.question)


def _menu(reply: Menu, catalog: Catalog) -> Card:
    lang = reply.lang
    body: list[dict[str, Any]] = []
    if reply.welcome:
        body += [
            title_block(catalog.text("welcome_title", lang)),
            text_block(catalog.text("welcome_text", lang)),
        ]
    body += [
        text_block(
            catalog.text("menu_title", lang), weight="Bolder", size="Medium", spacing="Medium"
        ),
        text_block(catalog.text("menu_text", lang), isSubtle=True),
    ]
    body.extend(_topic_buttons(reply.topics, lang, "topic", ""))
    return card_shell(body)


def _notice(reply: Notice, catalog: Catalog) -> Card:
    body: list[dict[str, Any]] = [text_block(catalog.text(reply.key, reply.lang))]
    if reply.offer_escalation:
        body.append(_actions(_escalate(catalog, reply.lang, reply.intent, reply.question)))
    return card_shell(body)
