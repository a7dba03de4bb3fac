"""Property-based tests (hypothesis): generated texts, button data, activities and raw bodies
thrown at the matcher, the card builders and the real HTTP endpoint.

What must hold for every input: the matcher answers within its contract; a card never carries
the user's words anywhere Teams renders Markdown, links or mentions (only in a RichTextBlock
TextRun, or as button data the bot gets back); the endpoint answers 415 to a wrong content
type, 413 over the body limit, 400 to anything that is not an activity, acknowledges unknown
activity types without a reply, never a 5xx other than 502, never crashes a turn, and the next
request is served normally.

The runs are derandomized (no example database) so CI sees the same examples every time. A
property that fails on a known bug is marked ``xfail(strict=True)`` and pins the bug's minimal
input with ``@example``: fixing the bug turns it into an XPASS that fails the run, as a reminder
to drop the marker (and the matching ``_known_bug`` clause, which keeps the broad properties
from tripping over the same bug meanwhile).
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import http.client
import json
import logging
import re
import shutil
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from fake_connector import FakeConnector, serve
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz, process
from urllib3.util import parse_url

from bot.app import create_app
from bot.settings import DEFAULT_MAX_BODY, Settings, is_loopback_host
from intents.cards import build_card
from intents.codes import (
    LONG_NAME,
    MAX_SCAN_WORDS,
    PLAIN_WORD_MAX_TOKENS,
    find_codes,
    pattern_owner,
)
from intents.language import choose_language
from intents.load import DEFAULT_CONTENT, load_knowledge
from intents.matcher import match, nearest
from intents.replies import (
    HELP_WORDS,
    QUESTION_MAX_JSON,
    Answer,
    Clarify,
    Fallback,
    Menu,
    Notice,
    UnknownCode,
    clip_question,
    respond_to_action,
    respond_to_text,
    respond_with_match,
)
from intents.terms import MAX_PHRASE
from intents.text import (
    MAX_QUERY_CHARS,
    NEGATED_NOUN_START,
    NEGATION_SCOPE,
    NEGATIONS,
    STOPWORDS,
    clean,
    content_words,
    fold,
    tokens,
)
from intents.ticket_cards import ticket_card
from intents.tickets import apply_action, new_ticket

KB = load_knowledge()
CATALOG = KB.catalog
TOPIC_IDS = frozenset(KB.index.topic_ids)
INDEX_BEFORE = copy.deepcopy(KB.index)

# Derandomized, no example database, no deadline (a 50k-character text or an HTTP round trip
# may take a while on a loaded 2-core CI machine).
FAST = settings(derandomize=True, database=None, deadline=None, max_examples=500)
CARDS = settings(derandomize=True, database=None, deadline=None, max_examples=300)
HTTP = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow],
)
FEW = settings(HTTP, max_examples=50)


# ---- strategies ----------------------------------------------------------------------------

# Words the content knows: codes, aliases, topic ids, keywords.
REAL_WORDS = sorted(
    {
        *(c for info in CATALOG.codes.values() for c in (info.code, *info.aliases)),
        *TOPIC_IDS,
        *(w for t in CATALOG.topics for w in (*t.match.codes, *t.match.keywords)),
        "6025",
        "stopped-server",
        "slow full sync",
        "stack trace",
        "stoped-conectivity",
        "stopped-foo",
        "0x80230716",
        "4.6.673.0",
        "help",
        "hjelp",
    }
)
# Only an uppercase sentinel can prove a leak: the matcher folds everything it echoes.
SENTINEL = "QZXJV"
INJECTIONS = [
    f"[click {SENTINEL}](https://evil.example/{SENTINEL})",
    f"<at>{SENTINEL}</at>",
    f"**{SENTINEL}**",
    f"![{SENTINEL}](http://x.example/{SENTINEL}.png)",
    f"<a href='https://evil.example'>{SENTINEL}</a>",
    f"[{SENTINEL}]: https://evil.example",
    f"_{SENTINEL}_ ~~{SENTINEL}~~ `{SENTINEL}`",
    f"# {SENTINEL}\n- {SENTINEL}\n1. {SENTINEL}",
    f"{{{SENTINEL}}} {{0}} %s {{code}}",
    f"https://evil.example/{SENTINEL}",
    f"&lt;at&gt;{SENTINEL}&lt;/at&gt;",
]
NOISE = [
    "<at>MIM Bot</at>",
    "<b>",
    "</at>",
    "\x00",
    "\u200b",
    "\r\n",
    "\t",
    "\ufb01",  # NFKC: "fi"
    "\u216b",  # NFKC: "XII"
    "\uff1cat\uff1e",  # NFKC: "<at>"
    "æøå",
    "ß",
    "İ",
    "…",
    "--",
    "..",
    "-.-",
    "0x",
    "\ufeff",
    "\u202e",
]
SEPARATORS = [" ", "  ", "-", "\n", ".", ", ", "", "\t", "/", "<at>x</at>"]
# Fragments that must never reach a place Teams renders as Markdown or as a link.
LEAKS = (SENTINEL, "evil.example", "x.example", "<at>", "](")

words = st.one_of(
    st.sampled_from(REAL_WORDS),
    st.sampled_from(NOISE),
    st.sampled_from(INJECTIONS),
    st.text(max_size=12),
)
mixed_text = st.lists(st.tuples(words, st.sampled_from(SEPARATORS)), max_size=30).map(
    lambda parts: "".join(w + s for w, s in parts)
)
control_text = st.text(
    st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Co"]), max_size=60
)
huge_text = st.builds(
    lambda chunk, size: (chunk * (size // len(chunk) + 1))[:size],
    st.one_of(mixed_text, st.text()).map(lambda chunk: chunk or "6025 "),
    st.integers(MAX_QUERY_CHARS - 40, 50_000),
)
texts = st.one_of(st.text(), mixed_text, control_text, huge_text)
# Short texts with injection attempts, for the "no leak" checks.
hostile_text = st.one_of(
    mixed_text,
    st.builds(lambda a, b, c: a + b + c, st.text(max_size=20), st.sampled_from(INJECTIONS), words),
)
locales = st.one_of(
    st.none(),
    st.just(""),
    st.sampled_from(["en-US", "nb-NO", "nb", "no", "nn", "NB_no", "de-DE", "-", "_", "nb-"]),
    st.text(max_size=12),
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
ACTIONS = ["feedback", "escalate", "choose", "topic", "assign", "resolve", "reopen", "x", ""]
button_data = st.fixed_dictionaries(
    {},
    optional={
        "action": st.sampled_from(ACTIONS) | json_values,
        "intent": st.sampled_from(sorted(TOPIC_IDS)) | json_values,
        "lang": st.sampled_from(["en", "nb", "de", ""]) | json_values,
        "question": hostile_text | json_values,
        "code": st.sampled_from(sorted(CATALOG.codes)) | json_values,
        "helpful": st.booleans() | json_values,
        "ticket": st.sampled_from(["T-ABC123", INJECTIONS[0]]) | json_values,
        "version": st.integers(-1, 3) | json_values,
    },
)
action_values = st.one_of(button_data, st.dictionaries(st.text(max_size=8), json_values))


# ---- helpers: where user text may appear in a card ------------------------------------------


def restricted_strings(node: Any) -> Iterator[str]:
    """Every string of a card except a TextRun's text and an Action.Submit's data: the places
    user text must never reach (TextBlock text, FactSet titles/values, action titles and URLs,
    and everything else a client may render or follow)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for item in node:
            yield from restricted_strings(item)
    elif isinstance(node, dict):
        kind = node.get("type")
        for key, value in node.items():
            if (kind == "TextRun" and key == "text") or (kind == "Action.Submit" and key == "data"):
                continue
            yield from restricted_strings(value)


def assert_no_leak(card: Any, where: str = "card") -> None:
    for text in restricted_strings(card):
        for leak in LEAKS:
            assert leak not in text, f"{leak!r} reached {where}: {text!r}"


def submit_data(card: Any) -> Iterator[Any]:
    if isinstance(card, list):
        for item in card:
            yield from submit_data(item)
    elif isinstance(card, dict):
        if card.get("type") == "Action.Submit":
            yield card.get("data")
        for value in card.values():
            yield from submit_data(value)


TOKEN = re.compile(r"^[a-z0-9][a-z0-9. \-]*$")


def check_reply_card(reply: Any) -> dict[str, Any]:
    """build_card works, is JSON, and the question reaches only button data."""
    card = build_card(reply, CATALOG)
    json.dumps(card, allow_nan=False)
    json.dumps(build_card(reply, CATALOG, interactive=False), allow_nan=False)
    assert_no_leak(card)
    if hasattr(reply, "question"):
        # The raw question may change nothing but button data.
        blank = dataclasses.replace(reply, question="")
        assert list(restricted_strings(card)) == list(
            restricted_strings(build_card(blank, CATALOG))
        )
        for data in submit_data(card):
            assert data.get("question", reply.question) == reply.question
            assert len(json.dumps(data.get("question", ""))) <= QUESTION_MAX_JSON
    # What is echoed from the text otherwise is a folded token: no markup is possible.
    echoed = [*getattr(reply, "matched", ())]
    if isinstance(reply, UnknownCode):
        echoed.append(reply.code)
    for word in echoed:
        assert TOKEN.match(word), word
    return card


# ---- 1. the matcher ------------------------------------------------------------------------


@FAST
@given(text=texts)
@example(text="")
@example(text="6025")
@example(text="stopped-server " * 3000)
def test_match_contract(text: str) -> None:
    found = match(KB.index, text)
    assert found.outcome in ("answer", "clarify", "fallback")
    assert 0.0 <= found.score <= 100.0
    assert (found.outcome == "answer") == (found.intent is not None)
    assert found.intent is None or found.intent in TOPIC_IDS
    assert all(c.intent in TOPIC_IDS and 0.0 <= c.score <= 100.0 for c in found.candidates)
    assert len({c.intent for c in found.candidates}) == len(found.candidates)
    if found.outcome == "clarify":
        assert found.candidates
    # Pure and deterministic, and the index is left as it was.
    assert match(KB.index, text) == found
    assert KB.index == INDEX_BEFORE


@FAST
@given(text=texts, tail=texts)
def test_long_text_is_matched_on_its_start(text: str, tail: str) -> None:
    # clean() bounds the text before anything else, so whatever follows the first
    # MAX_QUERY_CHARS characters can change nothing.
    head = text[:MAX_QUERY_CHARS]
    assert clean(text) == clean(head)
    assert match(KB.index, text) == match(KB.index, head)
    if len(text) >= MAX_QUERY_CHARS:
        assert match(KB.index, text + tail) == match(KB.index, head)


@FAST
@given(text=mixed_text)
@example(text="stopped-server 6025")
def test_match_candidates_are_best_first(text: str) -> None:
    scores = [c.score for c in match(KB.index, text).candidates]
    assert scores == sorted(scores, reverse=True)


@FAST
@given(
    word=st.one_of(st.sampled_from(KB.index.vocab), st.text(alphabet="abcdeilnorst-", max_size=30)),
    edit=st.text(alphabet="aeiostx", max_size=3),
    cutoff=st.sampled_from([0.0, 50.0, 70.0, 84.0, 90.0, 100.0]),
)
def test_nearest_term_is_what_a_full_scan_finds(word: str, edit: str, cutoff: float) -> None:
    # The length filter only skips words that cannot reach the cutoff: same word, same score.
    query = word[: len(word) // 2] + edit + word[len(word) // 2 :]
    full = process.extractOne(query, KB.index.vocab, scorer=fuzz.ratio, score_cutoff=cutoff)
    found = nearest(KB.index.by_length, query, cutoff)
    assert found == (None if full is None else (full[0], full[1]))


@FAST
@given(text=st.one_of(mixed_text, texts), locale=locales)
@example(text="<at>MIM Bot</at> help", locale="en-US")
@example(text="hjelp\x00", locale=None)
@example(text="slow full sync " * 40 + "hei, synkroniseringen er treg", locale="en-US")
def test_one_split_of_the_text_gives_what_splitting_it_each_time_gives(
    text: str, locale: str | None
) -> None:
    # respond_with_match splits the text once and shares the words between the language
    # guess, the help words and the matcher: the same answers as asking each on its own.
    reply, found = respond_with_match(KB, text, locale)
    if " ".join(tokens(text)[:2]) in HELP_WORDS or fold(text.strip()) in HELP_WORDS:
        assert isinstance(reply, Menu)
        assert found is None
        return
    assert found == match(KB.index, text)
    assert not isinstance(reply, Menu | Notice)
    assert reply.lang == choose_language(text, locale, KB.lang_hints)


def plain_content_words(words: list[str], negation: bool) -> list[str]:
    """content_words as defined: stop words out, negated words out, code parts added."""
    out: list[str] = []
    skip = 0
    for i, token in enumerate(words):
        after = words[i + 1] if i + 1 < len(words) else ""
        if negation and token in NEGATIONS and after in NEGATED_NOUN_START:
            skip = NEGATION_SCOPE
            continue
        if token in STOPWORDS:
            continue
        if skip:
            skip -= 1
            continue
        out.append(token)
        if "-" in token or ("." in token and not re.fullmatch(r"^\d+(?:\.\d+)+$", token)):
            out += [
                p for p in re.split(r"[\-.]+", token) if p and p != token and p not in STOPWORDS
            ]
    return out


@FAST
@given(
    words=st.lists(
        st.one_of(
            st.sampled_from(sorted(STOPWORDS | NEGATIONS | NEGATED_NOUN_START)).map(lambda w: [w]),
            st.tuples(st.sampled_from(sorted(NEGATIONS)), st.sampled_from(["the", "den", "x"])).map(
                list
            ),
            st.sampled_from(
                ["sync", "slow", "stopped-server", "4.6.34.1", "a.b", "x-the", "ma"]
            ).map(lambda w: [w]),
            st.text(alphabet="abst-.4", min_size=1, max_size=8).map(lambda w: [w]),
        ),
        max_size=10,
    ).map(lambda chunks: [w for chunk in chunks for w in chunk]),
    negation=st.booleans(),
)
def test_content_words_are_the_plain_definition(words: list[str], negation: bool) -> None:
    assert content_words(words, negation) == plain_content_words(words, negation)


RULES = KB.index.rules
PHRASE_WORDS = sorted(
    {w for p in RULES.phrase_synonyms for w in p} | {w for c in RULES.compounds for w in c}
)


PHRASES = sorted([*RULES.phrase_synonyms, *RULES.compounds])
phrase_runs = st.lists(
    st.one_of(
        st.sampled_from(PHRASES).map(list),
        st.sampled_from([*PHRASE_WORDS, "sync", "x", "not", "the"]).map(lambda w: [w]),
    ),
    max_size=8,
).map(lambda chunks: [w for chunk in chunks for w in chunk])


@FAST
@given(seq=phrase_runs)
def test_phrase_lookups_skip_only_words_that_start_no_phrase(seq: list[str]) -> None:
    # The plain definitions: at every position try every length, longest first.
    raw = content_words(seq)
    expected, i = [], 0
    while i < len(raw):
        for size in range(min(MAX_PHRASE, len(raw) - i), 1, -1):
            if tuple(raw[i : i + size]) in RULES.phrase_synonyms:
                expected.append(RULES.phrase_synonyms[tuple(raw[i : i + size])])
                i += size
                break
        else:
            expected.append(RULES.synonyms.get(raw[i], raw[i]))
            i += 1
    assert RULES.words_of(seq) == expected
    compounds = [
        " ".join(seq[i : i + size])
        for i in range(len(seq))
        for size in range(2, min(MAX_PHRASE, len(seq) - i) + 1)
        if tuple(seq[i : i + size]) in RULES.compounds
    ]
    assert RULES.compounds_in(seq) == compounds


CODES = KB.index.codes


def plain_find_codes(words: list[str]) -> list[str]:
    """find_codes as first written: every word through every case, in order."""
    found: list[str] = []
    joined = " " + " ".join(words) + " "
    found += [code for code in CODES.spaced if f" {code} " in joined]
    limit = min(len(words), MAX_SCAN_WORDS)
    for i, word in enumerate(words[:limit]):
        hexed = re.fullmatch(r"(?:0x)?(80[0-9a-f]{6})", word)
        if hexed and "0x" + hexed.group(1) in CODES.owners:
            found.append("0x" + hexed.group(1))
        elif word in CODES.owners:
            if word not in CODES.plain or len(words) <= PLAIN_WORD_MAX_TOKENS:
                found.append(word)
        elif any(p.fullmatch(word) for p, _ in CODES.patterns):
            found.append(word)
        elif "-" in word and len(word) >= 8:
            near = process.extractOne(word, CODES.hyphenated, scorer=fuzz.ratio, score_cutoff=90)
            found += [near[0]] if near else []
        elif "." in word and not re.fullmatch(r"\d+(?:\.\d+)+", word):
            found += [part for part in word.split(".") if part in CODES.owners]
        elif len(word) >= LONG_NAME and word.isalpha():
            found += [c for c in CODES.long_names if c.startswith(word) or word.startswith(c)]
        if word.partition("-")[0] in CODES.families:
            for size in (2, 3, 4, 5, 6):
                dashed = "-".join(words[i : i + size])
                if i + size <= limit and dashed in CODES.owners:
                    found.append(dashed)
    return list(dict.fromkeys(found))


code_words = st.one_of(
    st.sampled_from(sorted(CODES.owners)).flatmap(
        lambda c: st.sampled_from([c, *c.split("-"), c.replace("-", ""), c[:-1], c + "s"])
    ),
    st.sampled_from(sorted(CODES.families)),
    st.sampled_from(sorted(c[2:] for c in CODES.owners if c.startswith("0x"))),  # no 0x
    st.sampled_from(["80070005", "0x8023060e", "0x80230619", "4.6.34.1", "kb4012498", "a.b.c"]),
    st.sampled_from(REAL_WORDS).map(lambda w: "".join(tokens(w))),
    st.text(alphabet="abcdefilmnoprstx-.08", min_size=1, max_size=24),
)


@FAST
@given(words=st.lists(code_words, max_size=10))
def test_find_codes_finds_what_trying_every_case_for_every_word_finds(words: list[str]) -> None:
    words = [w for w in words if w]
    assert find_codes(CODES, words, 90) == plain_find_codes(words)


@FAST
@given(
    word=st.one_of(
        *(st.from_regex(p, fullmatch=True) for p, _ in CODES.patterns),
        st.text(alphabet="0123456789.kbx-", max_size=20),
    )
)
@example(word="4.6.34.1")
@example(word="kb4012498")
def test_the_joined_patterns_rule_out_only_words_no_pattern_matches(word: str) -> None:
    assert CODES.any_pattern is not None  # the real content's patterns can be joined
    some = any(p.fullmatch(word) for p, _ in CODES.patterns)
    assert (CODES.any_pattern.fullmatch(word) is not None) == some
    assert pattern_owner(CODES, word) == next(
        (t for p, t in CODES.patterns if p.fullmatch(word)), None
    )


@FAST
@given(text=st.one_of(mixed_text, texts))
@example(text="--stopped-server.. -. 4.1.3559.0. \u2028x\x00")
def test_tokens_and_clean_fast_paths_agree_with_the_plain_definitions(text: str) -> None:
    # tokens(): split on non-word characters, then drop leading/trailing hyphens and dots.
    expected = [
        t
        for t in (
            re.sub(r"^[-.]+|[-.]+$", "", raw) for raw in re.split(r"[^a-z0-9\-.]+", fold(text))
        )
        if t
    ]
    assert tokens(text) == expected
    # fold(): casefold, æøå and friends to ASCII, accents off.
    mapped = text.casefold().translate(
        str.maketrans({"æ": "ae", "ø": "o", "å": "a", "ä": "a", "ö": "o", "ü": "u", "ß": "ss"})
    )
    decomposed = unicodedata.normalize("NFKD", mapped)
    assert fold(text) == "".join(c for c in decomposed if not unicodedata.combining(c))
    # clean(): every character that is not printable becomes a space.
    normal = unicodedata.normalize(
        "NFKC",
        re.sub(r"<[^>]{0,200}>", " ", re.sub(r"(?is)<at>.*?</at>", " ", text[:MAX_QUERY_CHARS])),
    )
    assert clean(text) == "".join(c if c.isprintable() else " " for c in normal)


# ---- 2. replies and cards -------------------------------------------------------------------


@CARDS
@given(text=st.one_of(hostile_text, texts), locale=locales)
@example(text="stopped-foo [x](https://evil.example)", locale=None)
@example(text="help", locale="garbage")
def test_text_reply_card_never_carries_user_text_as_markup(text: str, locale: str | None) -> None:
    reply = respond_to_text(KB, text, locale)
    assert isinstance(reply, Answer | Clarify | Fallback | UnknownCode | Menu)
    check_reply_card(reply)
    if hasattr(reply, "question"):
        assert reply.question == clip_question(text)


@FAST
@given(text=st.one_of(texts, st.text(st.sampled_from('a\U0001f600\x00"\u00e6'), max_size=400)))
@example(text="\U0001f600" * 99)
@example(text="\U0001f600" * 100)
def test_a_clipped_question_is_what_clipping_by_json_size_gives(text: str) -> None:
    clipped = text.strip()[:300]
    while len(json.dumps(clipped)) > QUESTION_MAX_JSON:
        clipped = clipped[: len(clipped) * 3 // 4]
    assert clip_question(text) == clipped


@CARDS
@given(value=action_values, locale=locales)
def test_button_data_gives_a_valid_reply(value: dict[str, Any], locale: str | None) -> None:
    reply = respond_to_action(KB, value, locale)
    assert isinstance(reply, Answer | Notice)
    check_reply_card(reply)


names = st.one_of(hostile_text, st.text(max_size=30))


def _ticket(question: str, asker_name: str, asker_id: str, topic: str | None, lang: str) -> Any:
    return new_ticket(
        ticket="T-ABC123",
        asker={"id": asker_id, "name": asker_name},
        asker_ref={},
        question=question,
        topic=topic,
        steps=list(CATALOG.topics[0].steps["en"]),
        lang=lang,
        now="2024-05-02T08:15:30Z",
    )


@CARDS
@given(
    question=st.one_of(hostile_text, texts),
    asker_name=names,
    asker_id=names,
    topic=st.sampled_from([None, "nonsense", *sorted(TOPIC_IDS)]),
    lang=st.sampled_from(["en", "nb"]),
    action=st.sampled_from([None, "resolve"]),
)
def test_ticket_card_shows_user_text_only_as_text_runs(
    question: str, asker_name: str, asker_id: str, topic: str | None, lang: Any, action: str | None
) -> None:
    record = _ticket(question, asker_name, asker_id, topic, lang)
    if action:
        record = apply_action(record, action, {"id": "29:hd", "name": "Helpdesk"}, "now", 1)
    card = ticket_card(record, CATALOG, lang)
    json.dumps(card, allow_nan=False)
    assert_no_leak(card, "ticket card")
    neutral = {**record, "question": "", "asker": {"id": "", "name": ""}}
    assert list(restricted_strings(card)) == list(
        restricted_strings(ticket_card(neutral, CATALOG, lang))
    )
    runs = [node["text"] for node in _walk(card) if node.get("type") == "TextRun"]
    assert question in runs


@CARDS
@given(name=names)
@example(name=f"**{SENTINEL}** <at>Everyone</at>")
def test_ticket_card_shows_the_assignee_only_as_text_runs(name: str) -> None:
    agent = {"id": "29:hd", "name": name}
    record = apply_action(_ticket("q", "Ada", "29:a", None, "en"), "assign", agent, "t", 1)
    assert record is not None
    card = ticket_card(record, CATALOG, "en")
    assert_no_leak(card, "ticket card")
    neutral = {**record, "assignee": {"name": ""}}
    assert list(restricted_strings(card)) == list(
        restricted_strings(ticket_card(neutral, CATALOG, "en"))
    )


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from _walk(item)
    elif isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)


# ---- 3. the HTTP endpoint -------------------------------------------------------------------

LIMIT = 16 * 1024  # a configured MAX_BODY_BYTES, small so that big bodies stay cheap
ALLOWED = frozenset({200, 201, 202, 400, 401, 403, 413, 415, 502})
CONNECTOR = "$connector"  # replaced by the fake connector's URL when sent
PCNS_TITLE = CATALOG.topic("pcns-6025").title.get("en")  # type: ignore[union-attr]


class Server:
    """The real app and a fake connector on one event loop in a background thread, so that
    synchronous hypothesis tests can talk to them over loopback HTTP."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="properties-server")
        self.stack = AsyncExitStack()
        self.url = ""
        self.connector = FakeConnector()

    def run(self, coro: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self) -> None:
        await self.stack.enter_async_context(self.connector.running())
        self.url = await self.stack.enter_async_context(serve(create_app(self.settings, KB)))

    def start(self) -> Server:
        self.thread.start()
        self.run(self._start())
        return self

    def stop(self) -> None:
        try:
            self.run(self.stack.aclose())
            self.run(self.loop.shutdown_default_executor())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(30)
            self.loop.close()

    def post(self, body: bytes, content_type: str | None = "application/json") -> Response:
        address = urlsplit(self.url)
        conn = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
        try:
            headers = {} if content_type is None else {"Content-Type": content_type}
            conn.request("POST", "/api/messages", body=body, headers=headers)
            resp = conn.getresponse()
            return Response(resp.status, resp.getheader("Content-Type") or "", resp.read())
        finally:
            conn.close()

    def post_json(self, activity: Any) -> Response:
        return self.post(json.dumps(with_connector(activity, self.connector.url)).encode())


@dataclasses.dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class Problems(logging.Handler):
    """ERROR records from the bot and aiohttp: a turn that crashed, a 500, a failed send."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def since(self, mark: int) -> list[str]:
        return [
            f"{r.name}: {r.getMessage()} {r.exc_info[1] if r.exc_info else ''!r}"
            for r in self.records[mark:]
        ]


@dataclasses.dataclass
class Env:
    server: Server
    problems: Problems
    outbound: list[str]  # every URL the bot tried to reach outside the fake connector


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("properties")
    # A private copy of the content: local mode reloads on file changes, and others may be
    # editing content/ while this runs.
    content = tmp / "content"
    shutil.copytree(DEFAULT_CONTENT, content)
    outbound: list[str] = []
    real_send = requests.Session.send
    server = Server(
        Settings(
            port=0,
            sqlite_path=tmp / "bot.db",
            content_dir=content,
            max_body_bytes=LIMIT,
            retry_budget_s=0.2,
        )
    )

    def guarded_send(session: requests.Session, request: Any, **kwargs: Any) -> Any:
        # Nothing leaves this machine, and nothing reaches anything but the fake connector.
        if urlsplit(str(request.url)).netloc != urlsplit(server.connector.url).netloc:
            outbound.append(str(request.url))
            raise requests.ConnectionError("outbound HTTP is not allowed in this test")
        return real_send(session, request, **kwargs)

    problems = Problems()
    root = logging.getLogger()
    root.addHandler(problems)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(requests.Session, "send", guarded_send)
        server.start()
        try:
            yield Env(server, problems, outbound)
        finally:
            server.stop()
            root.removeHandler(problems)


def with_connector(node: Any, url: str) -> Any:
    if node == CONNECTOR:
        return url + "/"
    if isinstance(node, dict):
        return {k: with_connector(v, url) for k, v in node.items()}
    return node


def base_activity(**fields: Any) -> dict[str, Any]:
    activity = {
        "type": "message",
        "id": "1680000000001",
        "timestamp": "2024-05-02T08:15:30.123Z",
        "channelId": "msteams",
        "serviceUrl": CONNECTOR,
        "from": {"id": "29:1ada", "name": "Ada Admin"},
        "conversation": {"id": "a:1personal-chat", "conversationType": "personal"},
        "recipient": {"id": "28:mim-bot", "name": "MIM Bot"},
        "locale": "en-US",
        "text": "6025",
        "deliveryMode": "expectReplies",
    }
    activity.update(fields)
    return activity


def check(resp: Response, allowed: frozenset[int] = ALLOWED) -> Any:
    """The answer is one the endpoint may give; a 4xx says why, as JSON."""
    event(f"HTTP {resp.status}")
    assert resp.status in allowed, (resp.status, resp.body[:300])
    if 400 <= resp.status < 500:
        assert resp.content_type.startswith("application/json"), resp.content_type
        body = resp.json()
        assert isinstance(body, dict), body
        assert isinstance(body.get("error"), str), body
        return body
    return resp.json() if resp.content_type.startswith("application/json") else None


def cards_of(body: Any) -> list[Any]:
    """The cards and texts of the reply activities in an expectReplies body."""
    activities = body.get("activities", []) if isinstance(body, dict) else []
    return cards_in(activities)


def cards_in(activities: list[Any]) -> list[Any]:
    return [a.get("content") for act in activities for a in (act.get("attachments") or []) if a] + [
        act.get("text") for act in activities if act.get("text")
    ]


def still_serving(env: Env, mark: int) -> None:
    """No turn crashed, nothing went outside, and a normal request gets the PCNS card."""
    assert env.problems.since(mark) == []
    assert env.outbound == []
    resp = env.server.post_json(base_activity())
    assert resp.status == 200, resp.body[:300]
    cards = cards_of(resp.json())
    assert len(cards) == 1, cards
    assert cards[0]["body"][0]["text"] == PCNS_TITLE


SERVICE_URLS = [CONNECTOR] * 6 + ["https://evil.example/", "http://10.0.0.1/", "", "x", "/x"]
TYPES = [
    "message",
    "conversationUpdate",
    "invoke",
    "event",
    "typing",
    "foo",
    "installationUpdate",
    "messageReaction",
    "endOfConversation",
    "",
]
ids = st.one_of(st.sampled_from(["29:1ada", "28:mim-bot", ""]), st.text(max_size=12))
account = st.fixed_dictionaries(
    {"id": ids},
    optional={"name": names, "aadObjectId": st.text(max_size=12), "role": st.just("user")},
)
conversation = st.fixed_dictionaries(
    {"id": st.one_of(st.sampled_from(["a:1personal-chat", "19:abc@thread.tacv2"]), ids)},
    optional={
        "conversationType": st.sampled_from(["personal", "groupChat", "channel", ""]),
        "isGroup": st.booleans(),
        "tenantId": st.text(max_size=12),
        "name": names,
    },
)
entity = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(["mention", "clientInfo"]), st.text(max_size=8))},
    optional={"mentioned": account | json_values, "text": names, "locale": locales},
)
channel_data = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "tenant": st.fixed_dictionaries({"id": st.text(max_size=12)}),
            "channel": st.fixed_dictionaries({"id": ids, "name": names}),
            "team": st.fixed_dictionaries({"id": ids, "name": names}),
            "eventType": st.sampled_from(["teamMemberAdded", "channelCreated", "x"]),
        },
    ),
    json_values,
)
COMMANDS = ["set helpdesk", "show helpdesk", "unset helpdesk", "stats", "help", "hjelp"]
activity_text = st.one_of(
    hostile_text,
    st.sampled_from(REAL_WORDS + COMMANDS),
    st.text(),
    control_text,
    st.integers(MAX_QUERY_CHARS - 10, 3 * MAX_QUERY_CHARS).map(lambda n: ("6025 " * n)[:n]),
)
# Always there (well-formed unless corrupted below), and there half of the time.
CORE: dict[str, Any] = {
    "type": st.sampled_from(TYPES),
    "serviceUrl": st.sampled_from(SERVICE_URLS),
    "channelId": st.sampled_from(["msteams", "emulator", "webchat"]),
    "from": account,
    "recipient": account,
    "conversation": conversation,
    "text": activity_text,
    "deliveryMode": st.sampled_from(["expectReplies", "expectReplies", "normal"]),
}
OPTIONAL: dict[str, Any] = {
    "id": st.text(max_size=20),
    "timestamp": st.sampled_from(["2024-05-02T08:15:30.123Z", "2024-05-02T08:15:30+02:00"]),
    "locale": locales,
    "value": action_values,
    "entities": st.lists(entity, max_size=3),
    "channelData": channel_data,
    "name": st.sampled_from(["composeExtension/query", "adaptiveCard/action", "foo"]),
    "membersAdded": st.lists(account, max_size=2),
    "replyToId": st.text(max_size=10),
}


@st.composite
def activities(draw: st.DrawFn) -> dict[str, Any]:
    """Activity-shaped dicts: well-formed fields with arbitrary content, then up to three
    fields dropped or replaced by any JSON value at all."""
    activity = {key: draw(good) for key, good in CORE.items()}
    for key, good in OPTIONAL.items():
        if draw(st.booleans()):
            activity[key] = draw(good)
    keys = sorted({*CORE, *OPTIONAL})
    for key in draw(st.lists(st.sampled_from(keys), max_size=3, unique=True)):
        if draw(st.booleans()):
            activity.pop(key, None)
        else:
            activity[key] = draw(json_values)
    return activity


@HTTP
@given(activity=activities())
@example(activity=base_activity(type="foo"))
@example(activity=base_activity(value={"action": "escalate", "question": INJECTIONS[0]}))
@example(activity=base_activity(type="invoke", name="adaptiveCard/action", text=""))
def test_generated_activities(env: Env, activity: dict[str, Any]) -> None:
    mark = len(env.problems.records)
    calls = len(env.server.connector.calls)
    body = check(env.server.post_json(activity), ALLOWED)
    sent = [c.body for c in env.server.connector.calls[calls:] if isinstance(c.body, dict)]
    for card in cards_of(body) + cards_in(sent):
        assert_no_leak(card, "a reply")
    still_serving(env, mark)


@HTTP
@given(
    kind=st.one_of(
        st.sampled_from(
            [
                "event",
                "typing",
                "foo",
                "installationUpdate",
                "messageReaction",
                "endOfConversation",
                "handoff",
                "trace",
                "suggestion",
                "deleteUserData",
                "contactRelationUpdate",
                "Message",
            ]
        ),
        st.text(st.characters(codec="ascii", categories=["Ll", "Lu"]), min_size=1, max_size=12),
    ),
    mode=st.sampled_from(["expectReplies", "normal"]),
    text=st.one_of(st.none(), st.just("6025")),
    name=st.one_of(st.none(), st.text(max_size=10)),
)
def test_unknown_activity_types_are_acknowledged_without_a_reply(
    env: Env, kind: str, mode: str, text: str | None, name: str | None
) -> None:
    # Activity types are case-sensitive: "Message" is as unknown as "foo".
    if kind in ("message", "conversationUpdate", "invoke", "messageUpdate", "messageDelete"):
        kind = "foo"
    mark = len(env.problems.records)
    calls = len(env.server.connector.calls)
    activity = base_activity(type=kind, deliveryMode=mode, text=text, name=name)
    resp = env.server.post_json(activity)
    assert 200 <= resp.status < 300, (resp.status, resp.body)
    if mode == "expectReplies" and resp.body:
        assert resp.json().get("activities", []) == []
    assert env.server.connector.calls[calls:] == []
    still_serving(env, mark)


JSON_TYPES = ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON"]
other_types = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "text/plain",
            "text/json",
            "application/jsonp",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/activity+json",
            "",
        ]
    ),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30),
)
# Mostly JSON, so that the body checks behind the content type check get their share.
content_types = st.sampled_from(["json", "json", "other"]).flatmap(
    lambda kind: st.sampled_from(JSON_TYPES) if kind == "json" else other_types
)
raw_bodies = st.one_of(
    st.binary(max_size=2 * LIMIT),
    json_values.map(lambda v: json.dumps(v).encode()),
    activities().map(lambda a: json.dumps(a).encode()[:-1]),  # truncated JSON
    st.sampled_from([b"", b"NaN", b"[]", b"{}", b"\xef\xbb\xbf{}", b'{"type": 1e999}']),
    st.integers(1, 100_000).map(lambda n: b"[" * n + b"]" * n),  # deep nesting
)


def is_json_type(content_type: str | None) -> bool:
    return content_type is not None and content_type.split(";")[0].strip().lower() == (
        "application/json"
    )


@HTTP
@given(body=raw_bodies, content_type=content_types)
@example(body=b'{"type": "message",', content_type="application/json")
@example(body=b"{}", content_type="text/plain")
@example(body=b"x" * (LIMIT + 1), content_type="application/json")
def test_raw_bodies_and_content_types(env: Env, body: bytes, content_type: str | None) -> None:
    mark = len(env.problems.records)
    resp = env.server.post(body, content_type)
    check(resp)
    if not is_json_type(content_type):
        assert resp.status == 415
    elif len(body) > LIMIT:
        assert resp.status == 413
    else:
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):
            parsed = None
        if not isinstance(parsed, dict):
            assert resp.status == 400
    still_serving(env, mark)


@FEW
@given(
    size=st.one_of(st.integers(LIMIT - 256, LIMIT + 256), st.integers(1024, 3 * LIMIT)),
    content_type=st.sampled_from(JSON_TYPES),
)
@example(size=LIMIT, content_type="application/json")
@example(size=LIMIT + 1, content_type="application/json")
def test_body_limit(env: Env, size: int, content_type: str) -> None:
    # A valid expectReplies activity padded to exactly ``size`` bytes: its text is far over
    # MAX_QUERY_CHARS and starts with "6025", so under the limit it is answered on its start.
    empty = len(json.dumps(with_connector(base_activity(text=""), env.server.connector.url)))
    text = ("6025 " + "x" * size)[: max(0, size - empty)]
    activity = with_connector(base_activity(text=text), env.server.connector.url)
    body = json.dumps(activity).encode()
    mark = len(env.problems.records)
    resp = env.server.post(body, content_type)
    check(resp)
    if len(body) > LIMIT:
        assert resp.status == 413
    else:
        assert resp.status == 200
        if text.startswith("6025"):
            assert cards_of(resp.json())[0]["body"][0]["text"] == PCNS_TITLE
    still_serving(env, mark)


@FEW
@given(head=mixed_text, tail=texts)
def test_long_message_is_answered_on_its_start(env: Env, head: str, tail: str) -> None:
    head = (head + " " + "z" * MAX_QUERY_CHARS)[:MAX_QUERY_CHARS]
    first = check(env.server.post_json(base_activity(text=head)))
    second = check(env.server.post_json(base_activity(text=head + tail)))
    assert cards_of(first) == cards_of(second)


def test_default_body_limit_is_256_kib() -> None:
    assert Settings().max_body_bytes == DEFAULT_MAX_BODY == 256 * 1024
    assert Settings.from_env({}).max_body_bytes == 256 * 1024


# ---- known bugs, each pinned by its minimal input --------------------------------------------


@FEW
@given(url=st.sampled_from(["http://[", "http://[::1", "http://[foo]/", "https://]x[/", "//[a"]))
@example(url="http://[")
def test_malformed_service_url_is_a_400(env: Env, url: str) -> None:
    mark = len(env.problems.records)
    resp = env.server.post_json(base_activity(serviceUrl=url))
    try:
        assert resp.status in (400, 403), resp.status
    finally:
        env.problems.records[mark:] = []


@FEW
@given(mentioned=st.one_of(st.text(max_size=5), st.lists(st.integers(), max_size=2), st.integers()))
@example(mentioned="")
def test_malformed_mention(env: Env, mentioned: Any) -> None:
    mark = len(env.problems.records)
    activity = base_activity(
        conversation={"id": "19:g", "conversationType": "groupChat"},
        entities=[{"type": "mention", "mentioned": mentioned}],
    )
    resp = env.server.post_json(activity)
    crashed = env.problems.since(mark)
    env.problems.records[mark:] = []
    assert resp.status == 200
    assert crashed == []


@FEW
@given(
    bad=st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3),
    where=st.sampled_from(["question", "from.id", "from.name", "intent"]),
)
@example(bad="\ud800", where="question")
def test_lone_surrogates_in_button_data(env: Env, bad: str, where: str) -> None:
    mark = len(env.problems.records)
    value: dict[str, Any] = {"action": "escalate", "question": f"q {where}", "lang": "en"}
    sender = {"id": "29:1ada", "name": "Ada"}
    if where == "intent":
        value = {"action": "feedback", "helpful": True, "intent": bad}
    elif where == "question":
        value["question"] = bad
    else:
        sender[where.removeprefix("from.")] = bad
    resp = env.server.post_json(base_activity(text=None, value=value, **{"from": sender}))
    crashed = env.problems.since(mark)
    env.problems.records[mark:] = []
    assert resp.status == 200
    assert crashed == []


@FEW
@given(name=st.one_of(st.none(), st.sampled_from(["foo", "adaptiveCard/action", ""])))
@example(name="foo")
def test_unknown_invoke_is_not_a_5xx(env: Env, name: str | None) -> None:
    resp = env.server.post_json(base_activity(type="invoke", name=name, deliveryMode=None))
    assert resp.status in ALLOWED, resp.status


@FEW
@given(
    host=st.sampled_from(["evil.example", "10.0.0.1", "evil.example:443"]),
    sep=st.sampled_from(["\\@", "\\\\@", "\\x@", "@", "#@", "?@", "/@"]),
)
@example(host="evil.example", sep="\\@")
def test_loopback_check_agrees_with_the_http_client(env: Env, host: str, sep: str) -> None:
    # The outbound guard stops every request that is not for the fake connector, so nothing
    # leaves the machine; what it stops is what the bot would have sent elsewhere.
    port = urlsplit(env.server.connector.url).port
    url = f"http://{host}{sep}127.0.0.1:{port}/"
    mark, sent = len(env.problems.records), len(env.outbound)
    resp = env.server.post_json(base_activity(serviceUrl=url, deliveryMode=None))
    escaped = env.outbound[sent:]
    del env.outbound[sent:]
    env.problems.records[mark:] = []
    assert [u for u in escaped if not is_loopback_host(parse_url(u).host or "")] == [], resp.status


def test_ticket_id_from_button_data_is_not_rendered(tmp_path: Path) -> None:
    # The helpdesk is registered in this Emulator conversation; a ticket action from it with
    # a forged ticket id is answered with a notice that quotes the id.
    server = Server(Settings(port=0, sqlite_path=tmp_path / "bot.db", retry_budget_s=0.2))
    server.start()
    try:
        conv = {"id": "helpdesk-conv", "conversationType": "personal"}
        emulator: dict[str, Any] = {"channelId": "emulator", "conversation": conv}
        resp = server.post_json(base_activity(text="set helpdesk", **emulator))
        assert resp.status == 200
        value = {"action": "assign", "ticket": INJECTIONS[0], "version": 1}
        resp = server.post_json(base_activity(text=None, value=value, **emulator))
        assert resp.status == 200
        for card in cards_of(resp.json()):
            assert_no_leak(card, "ticket notice")
    finally:
        server.stop()


@FEW
@given(
    conversation=st.sampled_from([None, {}, {"id": None}, {"conversationType": "personal"}]),
    kind=st.sampled_from(["message", "conversationUpdate"]),
)
@example(conversation=None, kind="message")
def test_message_without_conversation(env: Env, conversation: Any, kind: str) -> None:
    mark = len(env.problems.records)
    activity = base_activity(type=kind, deliveryMode=None, membersAdded=[{"id": "29:1ada"}])
    if conversation is None:
        del activity["conversation"]
    else:
        activity["conversation"] = conversation
    resp = env.server.post_json(activity)
    crashed = env.problems.since(mark)
    env.problems.records[mark:] = []
    assert resp.status == 400, resp.status
    assert crashed == []


@FEW
@given(mode=st.sampled_from(["expectReplies", None]), value=st.sampled_from([None, ...]))
@example(mode="expectReplies", value=None)
def test_search_without_value(env: Env, mode: str | None, value: Any) -> None:
    mark = len(env.problems.records)
    activity = base_activity(type="invoke", name="composeExtension/query", deliveryMode=mode)
    if value is not ...:
        activity["value"] = value
    resp = env.server.post_json(activity)
    crashed = env.problems.since(mark)
    env.problems.records[mark:] = []
    assert resp.status == 200, resp.status
    assert crashed == []
