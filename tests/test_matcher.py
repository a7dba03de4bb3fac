"""The real matcher on the real content: a table per topic, off-topic text, odd input, and the
accuracy thresholds on the labelled development set (tests/data/dev.yaml)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from intents.codes import joined_patterns, pattern_owner
from intents.evaluate import evaluate, load_labelled
from intents.knowledge import Knowledge
from intents.load import load_knowledge
from intents.matcher import match

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def kb() -> Knowledge:
    return load_knowledge()


TABLE = {
    "mim-update": [
        "which MIM build is the latest",
        "is this bug fixed in a newer hotfix?",
        "we run 4.5.412.0, should we patch",
        "hvilken versjon av MIM er nyeste",
        "KB5018333",
    ],
    "generic-connectors": [
        "generic ldap connector to openldap fails on import",
        "event 6947 after upgrading the connectors",
        "GSQL connector stopped finding tables after the upgrade",
        "lotus domino koblingen virker ikke etter oppgradering",
        "1.1.2057.0",
    ],
    "run-error-codes": [
        "stopped-connectivity",
        "Status: completed-export-errors",
        "my run stopped with no-start-credentials",
        "kjøringen endte med stoped-conectivity",  # two typos
        "0x80230621",
        "cd-missing-object on export",
    ],
    "extension-dll-exception": [
        "stopped-extension-dll-exception",
        "stack trace",
        "where do I see the stack trace of extension-dll-exception",
        "provisioning code throws an exception",
        "stakksporing for extension dll exception",
        "EXTENSION-DLL-EXCEPTION!!!",
    ],
    "pcns-6025": [
        "6025",
        "event id 6025 on the domain controller",
        "Log Name: Application Source: PCNSSVC Event ID: 6025 Level: Error",
        "passordsynkronisering fra AD fungerer ikke",
        "pcns cannot authenticate the target, SPN problem",
    ],
    "slow-full-sync": [
        "slow full sync",
        "full sync on the FIM Service MA takes forever",
        "tempdb autogrow",
        "hei, full synkronisering er treg",
        "ful synk henger",
    ],
    "failed-creation-via-web-services": [
        "stopped-server failed-creation-via-web-services",
        "failed-creation-via-web-services",
        "FIMMA export fails with ValueViolatesUniqueness",
        "There was no endpoint listening at http://mimsvc:5725/ResourceManagementService/MEX",
        "stopped-server på FIM Service MA eksport",
    ],
}
OFF_TOPIC = [
    "hello",
    "hei",
    "thanks!",
    "good morning",
    "how do I reset my password in SSPR",
    "the MIM portal is slow to load",
    "printer on floor 3 is jammed",
    "Outlook keeps asking for my password",
    "asdf qwerty",
    "1234",
    "what is the weather in Oslo",
    "PAM request for admin access expired",
]


@pytest.mark.parametrize(
    ("expected", "text"), [(topic, text) for topic, texts in TABLE.items() for text in texts]
)
def test_each_topic_is_recognised(kb: Knowledge, expected: str, text: str) -> None:
    found = match(kb.index, text)
    assert (found.outcome, found.intent) == ("answer", expected), found


@pytest.mark.parametrize("text", OFF_TOPIC)
def test_off_topic_text_gets_no_answer_card(kb: Knowledge, text: str) -> None:
    assert match(kb.index, text).outcome != "answer"


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("6025", "6025"),
        ("Status: stopped-extension-dll-exception", "stopped-extension-dll-exception"),
        ("HRESULT 0x80230716", "0x80230716"),
        ("stopped server", "stopped-server"),
        ("stoped-conectivity", "stopped-connectivity"),
        ("no-start-no-partition-delete", "no-start-partition-delete"),
    ],
)
def test_codes_are_recognised_as_entities(kb: Knowledge, text: str, entity: str) -> None:
    found = match(kb.index, text)
    assert (found.outcome, found.entity, found.score) == ("answer", entity, 100.0)
    assert entity in found.matched


def test_a_code_owned_by_a_topic_beats_the_general_table(kb: Knowledge) -> None:
    found = match(kb.index, "stopped-server failed-creation-via-web-services")
    assert found.intent == "failed-creation-via-web-services"
    assert match(kb.index, "stopped-server on the AD MA").intent == "run-error-codes"


def test_two_specific_codes_ask_which_one(kb: Knowledge) -> None:
    found = match(kb.index, "6025 and extension-dll-exception at the same time")
    assert found.outcome == "clarify"
    assert {c.intent for c in found.candidates} == {"pcns-6025", "extension-dll-exception"}


def test_explanations_name_the_terms(kb: Knowledge) -> None:
    found = match(kb.index, "tempdb autogrow is tiny and full sync is slow")
    assert found.intent == "slow-full-sync"
    assert "tempdb" in found.matched


def test_candidates_are_sorted_and_scores_bounded(kb: Knowledge) -> None:
    for text in ["slow", "sync export error", "pcns tempdb", "stack trace tempdb"]:
        found = match(kb.index, text)
        scores = [c.score for c in found.candidates]
        assert scores == sorted(scores, reverse=True)
        assert all(0 <= s <= 100 for s in scores)


ODD_INPUT = [
    "",
    " ",
    "\x00\x01\x02",
    "?!?!",
    "----",
    "0x",
    "6025" * 5000,
    "stopped-" * 3000,
    "æøå" * 10000,
    "\ud800 lone surrogate",
    "<at>MIM Bot</at>",
    "<script>alert(1)</script> 6025",
    "".join(chr(c) for c in range(0x20, 0x3000, 7)),
    "a " * 100000,
]


@pytest.mark.parametrize("text", ODD_INPUT, ids=range(len(ODD_INPUT)))
def test_odd_input_never_raises(kb: Knowledge, text: str) -> None:
    found = match(kb.index, text)
    assert found.outcome in ("answer", "clarify", "fallback")


def test_matching_does_not_mutate_the_index(kb: Knowledge) -> None:
    before = dataclasses.replace(kb.index)
    terms = dict(kb.index.terms)
    for text in ["6025", "slow full sync", "hei"]:
        match(kb.index, text)
    assert kb.index == before
    assert dict(kb.index.terms) == terms


def test_development_set_meets_the_accuracy_bar(kb: Knowledge) -> None:
    report = evaluate(kb.index, load_labelled([DATA / "dev.yaml"]))
    assert len(report.in_scope) >= 400
    assert report.score >= 0.95, f"score {report.score:.1%}"
    assert report.rejection >= 0.95, f"off-topic rejection {report.rejection:.1%}"


def test_development_set_is_a_quarter_norwegian_and_has_hard_negatives() -> None:
    pairs = load_labelled([DATA / "dev.yaml"])
    assert sum(1 for _, topic in pairs if topic == "none") >= 100
    assert {topic for _, topic in pairs} >= set(TABLE) | {"none"}


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("what does stopped-foo-bar mean", "stopped-foo-bar"),
        ("hva betyr no-start-banana", "no-start-banana"),
        ("completed-everything-fine", "completed-everything-fine"),
    ],
)
def test_an_invented_code_is_named_with_the_closest_real_ones(
    kb: Knowledge, text: str, code: str
) -> None:
    found = match(kb.index, text)
    assert (found.outcome, found.unknown_code) == ("fallback", code)
    assert 1 <= len(found.suggestions) <= 3
    assert all(s in kb.catalog.codes for s in found.suggestions)
    assert found.suggestions[0].split("-")[0] == code.split("-")[0]


@pytest.mark.parametrize("text", ["re-run the sync", "built-in account", "full-text index"])
def test_ordinary_hyphenated_words_are_not_taken_for_codes(kb: Knowledge, text: str) -> None:
    assert match(kb.index, text).unknown_code is None


def test_held_out_set_generalises(kb: Knowledge) -> None:
    # Written apart from the development set and never tuned against: a drop here means the
    # matcher learned the development set rather than the problem.
    report = evaluate(kb.index, load_labelled([DATA / "heldout.yaml"]))
    assert report.score >= 0.88, f"score {report.score:.1%}"
    assert report.rejection >= 0.93, f"off-topic rejection {report.rejection:.1%}"


def test_patterns_that_cannot_be_joined_are_still_tried_one_by_one(kb: Knowledge) -> None:
    # A group would be renumbered by joining (breaking a back reference); a global inline flag
    # may only start a pattern. Such content keeps working without the shared regex.
    with_group = [re.compile(r"(ab)\1"), re.compile(r"kb\d{6,7}")]
    with_flag = [re.compile(r"kb\d{6,7}"), re.compile(r"(?i)BUILD-\d+")]
    assert joined_patterns(with_group) is None
    assert joined_patterns(with_flag) is None
    assert joined_patterns([]) is None
    table = dataclasses.replace(
        kb.index.codes,
        patterns=tuple((p, f"t{i}") for i, p in enumerate(with_group + with_flag)),
        any_pattern=None,
    )
    assert pattern_owner(table, "abab") == "t0"
    assert pattern_owner(table, "build-42") == "t3"
    assert pattern_owner(table, "abba") is None
