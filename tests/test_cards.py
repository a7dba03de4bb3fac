"""Cards: every card the bot can send passes the official SDK, keeps the button contract, is pure.

Golden files in tests/golden/ pin the JSON of five cards. After an intended change to the cards or
to the content they show, regenerate them and review the diff before committing:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_cards.py

With UPDATE_GOLDEN=1 the golden tests rewrite the files instead of comparing against them.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args
from urllib.parse import urlsplit

import pytest
from adaptive_sdk import validate_cards

from intents.cards import build_card
from intents.content import LINK_HOSTS
from intents.knowledge import Knowledge
from intents.load import load_knowledge
from intents.model import LANGS, CodeInfo, Lang, Text, Topic
from intents.replies import (
    ACTIONS,
    Answer,
    Clarify,
    Fallback,
    Menu,
    Notice,
    NoticeKind,
    Reply,
    UnknownCode,
    answer_topic,
    clip_question,
    respond_to_action,
    respond_to_text,
    welcome,
)

Card = dict[str, Any]
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
UPDATE_GOLDEN = os.environ.get("UPDATE_GOLDEN") == "1"
TOPIC_IDS = [
    "mim-update",
    "generic-connectors",
    "run-error-codes",
    "extension-dll-exception",
    "pcns-6025",
    "slow-full-sync",
    "failed-creation-via-web-services",
]
# Teams refuses messages over about 28 KB; the connector sends cards as ASCII-escaped JSON.
TEAMS_LIMIT = 28 * 1024
# The longest question a button carries, in the plain-text character that escapes the longest.
LONG_QUESTION = clip_question("ø" * 1000)  # the longest question a card can carry
NOTICE_KINDS: tuple[NoticeKind, ...] = get_args(NoticeKind)
SYNTHETIC_CODE = CodeInfo(
    code="stopped-server",
    kind="run-status",
    topic="run-error-codes",
    meaning=Text("The server stopped the run.", "Serveren stoppet kjøringen."),
    checks={"en": ("Read the Application log.",), "nb": ("Les programloggen.",)},
)


@pytest.fixture(scope="module")
def kb() -> Knowledge:
    return load_knowledge()


def topic_of(kb: Knowledge, topic_id: str) -> Topic:
    found = kb.catalog.topic(topic_id)
    assert found is not None, topic_id
    return found


def all_replies(kb: Knowledge, question: str) -> dict[str, Reply]:
    """Every kind of reply the bot sends, in every language."""
    topics = kb.catalog.topics
    replies: dict[str, Reply] = {}
    for lang in LANGS:
        for t in topics:
            replies[f"answer/{t.id}/{lang}"] = answer_topic(kb, t, lang, question, None)
        for code in list(kb.catalog.codes.values()) or [SYNTHETIC_CODE]:
            replies[f"code/{code.code}/{lang}"] = Answer(
                topic_of(kb, code.topic), lang, question, code=code, matched=(code.code,)
            )
        replies[f"clarify-2/{lang}"] = Clarify(topics[:2], lang, question, ("slow", "fimma"))
        replies[f"clarify-3/{lang}"] = Clarify(topics[3:6], lang, question)
        replies[f"fallback/{lang}"] = Fallback(topics, lang, question)
        replies[f"menu/{lang}"] = Menu(topics, lang)
        replies[f"welcome/{lang}"] = Menu(topics, lang, welcome=True)
        for kind in NOTICE_KINDS:
            replies[f"notice/{kind}/{lang}"] = Notice(kind, lang)
            replies[f"notice/{kind}/{lang}/escalate"] = Notice(
                kind, lang, "pcns-6025", question, offer_escalation=True
            )
        codes = tuple(list(kb.catalog.codes.values())[:3])
        replies[f"unknown-code/{lang}"] = UnknownCode("stopped-foo", codes, lang, question)
    # And what the real text path produces.
    texts = ("6025", "hei, full synkronisering er treg", "help", "zzzz qqqq", "", "stopped-foo")
    for text in texts:
        replies[f"text/{text}"] = respond_to_text(kb, text, None)
    return replies


@pytest.fixture(scope="module")
def replies(kb: Knowledge) -> dict[str, Reply]:
    return all_replies(kb, LONG_QUESTION)


@pytest.fixture(scope="module")
def cards(kb: Knowledge, replies: dict[str, Reply]) -> dict[str, Card]:
    return {name: build_card(reply, kb.catalog) for name, reply in replies.items()}


def elements(node: Any) -> Iterator[dict[str, Any]]:
    """Every typed element and action of a card, depth first in document order."""
    if isinstance(node, dict):
        if "type" in node:
            yield node
        for value in node.values():
            yield from elements(value)
    elif isinstance(node, list):
        for item in node:
            yield from elements(item)


def of_type(card: Card, kind: str) -> list[dict[str, Any]]:
    return [e for e in elements(card) if e["type"] == kind]


def sequence(card: Card) -> list[str]:
    """What a person reads, in order: each TextBlock's text and each button's title."""
    out = []
    for e in elements(card):
        if e["type"] == "TextBlock":
            out.append(e["text"])
        elif e["type"].startswith("Action."):
            out.append(e["title"])
    return out


def numbered(items: tuple[str, ...]) -> list[str]:
    # Teams' card Markdown has no inline code, so backticks from the YAML must not reach the card.
    return [f"{n}. {item.replace('`', '')}" for n, item in enumerate(items, 1)]


# --- the official SDK --------------------------------------------------------------------------


def golden_replies(kb: Knowledge) -> dict[str, Reply]:
    pcns, slow = topic_of(kb, "pcns-6025"), topic_of(kb, "slow-full-sync")
    return {
        "answer-pcns-6025-en": Answer(pcns, "en", "event 6025 on every DC", matched=("6025",)),
        "answer-slow-full-sync-nb": answer_topic(kb, slow, "nb", "full synk er treg", None),
        "clarify-en": Clarify((pcns, slow), "en", "password sync is slow"),
        "fallback-nb": Fallback(kb.catalog.topics, "nb", "hvordan bestiller jeg en ny PC?"),
        "welcome-en": welcome(kb, None),
    }


def test_every_card_passes_the_official_sdk(kb: Knowledge, cards: dict[str, Card]) -> None:
    goldens = {
        f"golden/{name}": build_card(reply, kb.catalog)
        for name, reply in golden_replies(kb).items()
    }
    everything = {**cards, **goldens}
    results = validate_cards(list(everything.values()))  # one node run for all of them
    problems = {name: found for name, found in zip(everything, results, strict=True) if found}
    assert problems == {}
    assert len(everything) >= 2 * (7 + 1 + 5 + 2 * len(NOTICE_KINDS))


# --- the button contract -----------------------------------------------------------------------


def expected_escalate_intent(reply: Reply) -> str | None:
    match reply:
        case Answer():
            return reply.topic.id
        case Notice():
            return reply.intent
        case _:
            return None


def question_of(reply: Reply) -> str:
    return "" if isinstance(reply, Menu) else reply.question


def contract_violations(reply: Reply, card: Card) -> list[str]:
    out = []
    for action in of_type(card, "Action.Submit"):
        data = action.get("data")
        if not isinstance(data, dict):
            out.append(f"{action['title']}: data is not an object")
            continue
        if data.get("action") not in ACTIONS or "intent" not in data:
            out.append(f"{action['title']}: bad action or no intent: {data}")
        if data.get("lang") != reply.lang or data.get("question") != question_of(reply):
            out.append(f"{action['title']}: lang/question not carried: {data}")
        if data.get("action") == "feedback" and type(data.get("helpful")) is not bool:
            out.append(f"{action['title']}: feedback without boolean helpful")
        if data.get("action") == "escalate" and data["intent"] != expected_escalate_intent(reply):
            out.append(f"{action['title']}: escalate intent {data['intent']!r}")
        if (
            data.get("action") in ("feedback", "choose", "topic")
            and data["intent"] not in TOPIC_IDS
        ):
            out.append(f"{action['title']}: intent {data['intent']!r} is not a topic")
        if json.loads(json.dumps(data)) != data:
            out.append(f"{action['title']}: data does not survive JSON")
    for action in of_type(card, "Action.OpenUrl"):
        parts = urlsplit(action["url"])
        if parts.scheme != "https" or parts.hostname not in LINK_HOSTS:
            out.append(f"{action['title']}: url {action['url']}")
    return out


def test_every_button_keeps_the_contract(replies: dict[str, Reply], cards: dict[str, Card]) -> None:
    violations = {
        name: found
        for name, card in cards.items()
        if (found := contract_violations(replies[name], card))
    }
    assert violations == {}
    submits = sum(len(of_type(card, "Action.Submit")) for card in cards.values())
    assert submits > 100  # the check above saw real buttons


def test_every_button_does_what_it_says(
    kb: Knowledge, replies: dict[str, Reply], cards: dict[str, Card]
) -> None:
    wrong = []
    for name, card in cards.items():
        for action in of_type(card, "Action.Submit"):
            data = action["data"]
            lang, intent, question = data["lang"], data["intent"], data["question"]
            expected: Reply
            match data["action"], data.get("helpful"):
                case (("choose" | "topic"), _) if "code" in data:
                    code = kb.catalog.codes[data["code"]]
                    topic = topic_of(kb, code.topic)
                    expected = Answer(topic, lang, question, code=code, matched=(code.code,))
                case (("choose" | "topic"), _):
                    expected = Answer(topic_of(kb, intent), lang, question)
                case "feedback", True:
                    expected = Notice("feedback_thanks", lang, intent)
                case "feedback", False:
                    expected = Notice("feedback_sorry", lang, intent, question, True)
                case "escalate", _:
                    expected = Notice("escalate_ack", lang, intent, question)
                case _:
                    expected = Notice("unknown_action", lang)
            if respond_to_action(kb, data, None) != expected:
                wrong.append(f"{name}: {action['title']}")
    assert wrong == []


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("topic_id", TOPIC_IDS)
def test_answer_card_shows_the_topic_in_order(kb: Knowledge, topic_id: str, lang: Lang) -> None:
    t, text = topic_of(kb, topic_id), kb.catalog.text
    card = build_card(answer_topic(kb, t, lang, "why?", None), kb.catalog)
    assert sequence(card) == [
        t.title.get(lang),
        t.symptom.get(lang).replace("`", ""),
        text("steps_heading", lang),
        *numbered(t.steps[lang]),
        *(link.title.get(lang) for link in t.links),
        text("did_it_help", lang),
        text("answer_yes", lang),
        text("answer_no", lang),
        text("escalate", lang),
    ]
    urls = [a["url"] for a in of_type(card, "Action.OpenUrl")]
    assert urls == [link.url for link in t.links]
    feedback = [
        (a["data"]["action"], a["data"].get("helpful")) for a in of_type(card, "Action.Submit")
    ]
    assert feedback == [("feedback", True), ("feedback", False), ("escalate", None)]
    assert of_type(card, "TextBlock")[0]["size"] == "Large"


@pytest.mark.parametrize("lang", LANGS)
def test_answer_card_with_a_code_leads_with_its_meaning(kb: Knowledge, lang: Lang) -> None:
    code = next(iter(kb.catalog.codes.values()), SYNTHETIC_CODE)
    t, text = topic_of(kb, code.topic), kb.catalog.text
    reply = Answer(t, lang, "q", code=code, matched=(code.code,))
    card = build_card(reply, kb.catalog)
    assert sequence(card)[: 5 + len(code.checks[lang])] == [
        t.title.get(lang),
        t.symptom.get(lang).replace("`", ""),
        f"{text('code_heading', lang)}: {code.code}",
        code.meaning.get(lang).replace("`", ""),
        text("code_checks_heading", lang),
        *numbered(code.checks[lang]),
    ]
    assert f"{text('matched_on', lang)}: {code.code}" in sequence(card)
    (container,) = of_type(card, "Container")
    assert len(container["items"]) == 3 + len(code.checks[lang])


@pytest.mark.parametrize("lang", LANGS)
def test_fallback_offers_all_seven_topics_and_escalation(kb: Knowledge, lang: Lang) -> None:
    card = build_card(Fallback(kb.catalog.topics, lang, "huh"), kb.catalog)
    text = kb.catalog.text
    titles = [topic_of(kb, i).label.get(lang) for i in TOPIC_IDS]
    assert sequence(card) == [
        text("fallback_title", lang),
        text("fallback_text", lang),
        *titles,
        text("escalate", lang),
    ]
    buttons = [(a["data"]["action"], a["data"]["intent"]) for a in of_type(card, "Action.Submit")]
    assert buttons == [*(("topic", i) for i in TOPIC_IDS), ("escalate", None)]


@pytest.mark.parametrize("count", [2, 3])
def test_clarify_offers_exactly_its_candidates(kb: Knowledge, count: int) -> None:
    chosen = kb.catalog.topics[2 : 2 + count]
    card = build_card(Clarify(chosen, "en", "hmm"), kb.catalog)
    text = kb.catalog.text
    assert sequence(card) == [
        text("clarify_title", "en"),
        text("clarify_text", "en"),
        *(t.label.en for t in chosen),
        text("escalate", "en"),
    ]
    buttons = [(a["data"]["action"], a["data"]["intent"]) for a in of_type(card, "Action.Submit")]
    assert buttons == [*(("choose", t.id) for t in chosen), ("escalate", None)]


@pytest.mark.parametrize("lang", LANGS)
def test_menu_and_welcome(kb: Knowledge, lang: Lang) -> None:
    text = kb.catalog.text
    titles = [topic_of(kb, i).label.get(lang) for i in TOPIC_IDS]
    menu = build_card(Menu(kb.catalog.topics, lang), kb.catalog)
    assert sequence(menu) == [text("menu_title", lang), text("menu_text", lang), *titles]
    greeting = build_card(welcome(kb, "nb-NO" if lang == "nb" else "en-US"), kb.catalog)
    assert sequence(greeting) == [
        text("welcome_title", lang),
        text("welcome_text", lang),
        *sequence(menu),
    ]
    for card in (menu, greeting):
        data = [a["data"] for a in of_type(card, "Action.Submit")]
        assert data == [
            {"action": "topic", "intent": i, "lang": lang, "question": ""} for i in TOPIC_IDS
        ]


@pytest.mark.parametrize("kind", NOTICE_KINDS)
def test_notice_offers_escalation_only_when_asked(kb: Knowledge, kind: NoticeKind) -> None:
    plain = build_card(Notice(kind, "nb", "pcns-6025"), kb.catalog)
    assert sequence(plain) == [kb.catalog.text(kind, "nb")]
    offered = build_card(Notice(kind, "nb", "pcns-6025", "q", True), kb.catalog)
    assert sequence(offered) == [kb.catalog.text(kind, "nb"), kb.catalog.text("escalate", "nb")]


def test_no_card_shows_backticks_or_empty_text(cards: dict[str, Card]) -> None:
    bad = {
        name: [s for s in sequence(card) if not s.strip() or "`" in s]
        for name, card in cards.items()
    }
    assert {name: found for name, found in bad.items() if found} == {}


def size(card: Card) -> int:
    return len(json.dumps(card).encode("utf-8"))


def test_largest_card_fits_in_a_teams_message(cards: dict[str, Card]) -> None:
    largest = max(cards, key=lambda name: size(cards[name]))
    assert size(cards[largest]) < TEAMS_LIMIT, largest


def test_a_long_emoji_message_still_fits_in_a_teams_message(kb: Knowledge) -> None:
    reply = respond_to_text(kb, "\N{GRINNING FACE}" * 600, None)
    assert isinstance(reply, Fallback)
    assert size(build_card(reply, kb.catalog)) < TEAMS_LIMIT


# --- golden files ------------------------------------------------------------------------------


GOLDEN_NAMES = [
    "answer-pcns-6025-en",
    "answer-slow-full-sync-nb",
    "clarify-en",
    "fallback-nb",
    "welcome-en",
]


@pytest.mark.parametrize("name", GOLDEN_NAMES)
def test_card_matches_golden_file(kb: Knowledge, name: str) -> None:
    card = build_card(golden_replies(kb)[name], kb.catalog)
    path = GOLDEN_DIR / f"{name}.json"
    if UPDATE_GOLDEN:
        GOLDEN_DIR.mkdir(exist_ok=True)
        path.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert path.exists(), f"{path} is missing: run with UPDATE_GOLDEN=1 and review it"
    assert json.loads(path.read_text(encoding="utf-8")) == card


# --- purity ------------------------------------------------------------------------------------


def scribble(node: Any) -> None:
    """Mutate every dict and list of a card in place."""
    if isinstance(node, dict):
        for value in node.values():
            scribble(value)
        node["scribbled"] = True
    elif isinstance(node, list):
        for item in node:
            scribble(item)
        node.append("scribbled")


def test_cards_are_pure(kb: Knowledge) -> None:
    catalog_before = copy.deepcopy(kb.catalog)
    replies = all_replies(kb, "is this pure?")

    def build() -> dict[str, Card]:
        return {name: build_card(reply, kb.catalog) for name, reply in replies.items()}

    first = build()
    expected = copy.deepcopy(first)
    for card in first.values():
        scribble(card)
    assert build() == expected
    assert kb.catalog == catalog_before
