"""Turn a user's message or button press into a neutral reply: what to say, not how to draw it."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from intents.knowledge import Knowledge
from intents.language import SCAN_CHARS, choose_language
from intents.matcher import Match, match_words
from intents.model import LANGS, CodeInfo, Lang, Topic
from intents.text import clean, fold, tokens

ACTIONS = ("feedback", "escalate", "choose", "topic")
HELP_WORDS = frozenset({"help", "hjelp", "menu", "meny", "topics", "emner", "?", "start"})
NORWEGIAN_HELP_WORDS = frozenset({"hjelp", "meny", "emner"})
# The question rides along in button data for a later escalation; a card repeats it in up to
# eight buttons and Teams caps a message near 28 KB, so it is bounded in escaped-JSON size.
QUESTION_KEEP = 300
QUESTION_MAX_JSON = 1200
_MAX_ESCAPE = 12  # JSON characters for one character at most: "\ud83d\ude00" for an emoji


def clip_question(text: str) -> str:
    """The start of ``text`` that fits the button-data budget, whatever its characters."""
    clipped = text.strip()[:QUESTION_KEEP]
    if len(clipped) * _MAX_ESCAPE + 2 <= QUESTION_MAX_JSON:
        return clipped  # fits even if every character needed the longest escape
    while len(json.dumps(clipped)) > QUESTION_MAX_JSON:
        clipped = clipped[: len(clipped) * 3 // 4]
    return clipped


@dataclass(frozen=True)
class Answer:
    topic: Topic
    lang: Lang
    question: str
    code: CodeInfo | None = None
    matched: tuple[str, ...] = ()


@dataclass(frozen=True)
class Clarify:
    topics: tuple[Topic, ...]
    lang: Lang
    question: str
    matched: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fallback:
    topics: tuple[Topic, ...]
    lang: Lang
    question: str


@dataclass(frozen=True)
class UnknownCode:
    """A code-shaped word no content knows, with the real codes nearest to it."""

    code: str
    suggestions: tuple[CodeInfo, ...]
    lang: Lang
    question: str


@dataclass(frozen=True)
class Menu:
    topics: tuple[Topic, ...]
    lang: Lang
    welcome: bool = False


NoticeKind = Literal[
    "feedback_thanks", "feedback_sorry", "escalate_ack", "unknown_action", "unsupported_message"
]


@dataclass(frozen=True)
class Notice:
    """A short acknowledgement; ``offer_escalation`` adds the escalate button."""

    key: NoticeKind
    lang: Lang
    intent: str | None = None
    question: str = ""
    offer_escalation: bool = False


Reply = Answer | Clarify | Fallback | UnknownCode | Menu | Notice
TopicHandler = Callable[[Knowledge, Topic, Lang, str, Match | None], Reply]


def answer_topic(
    kb: Knowledge, topic: Topic, lang: Lang, question: str, found: Match | None
) -> Reply:
    """The generic handler: the topic's steps, led by the recognised code's meaning if any."""
    code = kb.catalog.codes.get(found.entity) if found and found.entity else None
    matched = found.matched if found else ()
    return Answer(topic=topic, lang=lang, question=question, code=code, matched=matched)


# Every handler a topic may name in content; tests check both directions.
HANDLERS: Mapping[str, TopicHandler] = {"topic": answer_topic}


def respond_to_text(kb: Knowledge, text: str, locale: str | None) -> Reply:
    """Answer free text: the help menu, or whatever the matcher decides."""
    return respond_with_match(kb, text, locale)[0]


def respond_with_match(kb: Knowledge, text: str, locale: str | None) -> tuple[Reply, Match | None]:
    """``respond_to_text`` plus the matcher's verdict it rests on (None for the help menu), so
    the caller can log the intent and score without matching twice."""
    # Split the text once: nearly every message is the same text cleaned (no markup, all
    # printable) and short enough for the language scan, so the three uses share the words.
    cleaned = clean(text)
    words = tokens(cleaned)
    plain = len(text) <= SCAN_CHARS and cleaned == text
    lang = choose_language(text, locale, kb.lang_hints, words if plain else None)
    command = fold(text.strip())
    if command in HELP_WORDS or " ".join((words if plain else tokens(text))[:2]) in HELP_WORDS:
        return Menu(kb.catalog.topics, "nb" if command in NORWEGIAN_HELP_WORDS else lang), None
    found = match_words(kb.index, words)
    question = clip_question(text)
    if found.outcome == "answer" and found.intent:
        topic = kb.catalog.topic(found.intent)
        if topic is not None:
            return HANDLERS[topic.handler](kb, topic, lang, question, found), found
    if found.unknown_code:
        infos = tuple(i for c in found.suggestions if (i := kb.catalog.codes.get(c)))
        return UnknownCode(found.unknown_code, infos, lang, question), found
    if found.outcome == "clarify":
        topics = tuple(t for c in found.candidates if (t := kb.catalog.topic(c.intent)))
        if topics:
            return Clarify(topics, lang, question, found.matched), found
    return Fallback(kb.catalog.topics, lang, question), found


def respond_to_action(kb: Knowledge, value: Mapping[str, Any], locale: str | None) -> Reply:
    """Act on the data of an Action.Submit button instead of matching text."""
    raw_lang = value.get("lang")
    lang: Lang = raw_lang if raw_lang in LANGS else choose_language("", locale)
    action = value.get("action")
    intent = _str_field(value, "intent") or None
    question = clip_question(_str_field(value, "question"))
    topic = kb.catalog.topic(intent) if intent else None
    code = kb.catalog.codes.get(_str_field(value, "code"))
    if action in ("choose", "topic") and code is not None:
        code_topic = kb.catalog.topic(code.topic)
        if code_topic is not None:
            return Answer(code_topic, lang, question, code=code, matched=(code.code,))
    if action in ("choose", "topic") and topic is not None:
        return HANDLERS[topic.handler](kb, topic, lang, question, None)
    if action == "feedback" and isinstance(value.get("helpful"), bool):
        if value["helpful"]:
            return Notice("feedback_thanks", lang, intent)
        return Notice("feedback_sorry", lang, intent, question, offer_escalation=True)
    if action == "escalate":
        return Notice("escalate_ack", lang, intent, question)
    return Notice("unknown_action", lang)


def _str_field(value: Mapping[str, Any], key: str) -> str:
    item = value.get(key)
    return item if isinstance(item, str) else ""


def welcome(kb: Knowledge, locale: str | None) -> Reply:
    return Menu(kb.catalog.topics, choose_language("", locale), welcome=True)


def unsupported(locale: str | None) -> Reply:
    return Notice("unsupported_message", choose_language("", locale))
