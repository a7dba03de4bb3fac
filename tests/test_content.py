"""Content contract: the real knowledge base loads, and broken content is refused as path:line.

Broken folders are built in ``tmp_path`` from one small valid topic template; every expected
line number is computed from the YAML text the test writes, never typed by hand.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from intents.content import ContentError
from intents.knowledge import Knowledge
from intents.load import load_knowledge
from intents.replies import HANDLERS

REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_UI = (REPO_ROOT / "content" / "ui.yaml").read_text(encoding="utf-8")
TOPIC_IDS = [
    "mim-update",
    "generic-connectors",
    "run-error-codes",
    "extension-dll-exception",
    "pcns-6025",
    "slow-full-sync",
    "failed-creation-via-web-services",
]
LEARN = "https://learn.microsoft.com/"

# A minimal valid topic; the leading comment makes "line 1" a wrong answer for any key.
TEMPLATE = """\
# A small valid topic for validation tests.
id: {id}
order: {order}
title:
  en: "The {id} run is broken"
  nb: "Kjoringen {id} er odelagt"
label:
  en: "{id} is broken"
  nb: "{id} er odelagt"
symptom:
  en: "The {id} run stops at once."
  nb: "Kjoringen {id} stopper med en gang."
steps:
  en:
    - "Open the {id} log."
    - "Restart the {id} service."
  nb:
    - "Apne loggen for {id}."
    - "Start tjenesten {id} pa nytt."
links:
  - url: https://learn.microsoft.com/en-us/microsoft-identity-manager/{id}
    title:
      en: "About {id}"
      nb: "Om {id}"
match:
  keywords: [{id}]
  phrases:
    en: ["the {id} run is broken"]
    nb: ["kjoringen {id} er odelagt"]
"""


def topic(topic_id: str = "alpha", order: int = 1) -> str:
    return TEMPLATE.format(id=topic_id, order=order)


def edit(text: str, old: str, new: str) -> str:
    """Replace ``old`` (which must occur exactly once) so a stale template cannot pass silently."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def drop_key(text: str, key: str) -> str:
    """Remove a top-level key and its indented block."""
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{key}:"))
    end = start + 1
    while end < len(lines) and lines[end].startswith((" ", "\t")):
        end += 1
    return "".join(lines[:start] + lines[end:])


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the ``occurrence``-th line containing ``needle``."""
    hits = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) >= occurrence, f"{needle!r} found on lines {hits}"
    return hits[occurrence - 1]


def make_content(
    tmp_path: Path,
    topics: dict[str, str],
    ui: str = REAL_UI,
    codes: dict[str, str] | None = None,
) -> Path:
    root = tmp_path / "content"
    (root / "topics").mkdir(parents=True)
    (root / "ui.yaml").write_text(ui, encoding="utf-8")
    for name, text in topics.items():
        (root / "topics" / name).write_text(text, encoding="utf-8")
    if codes:
        (root / "codes").mkdir()
        for name, text in codes.items():
            (root / "codes" / name).write_text(text, encoding="utf-8")
    return root


def problems_of(root: Path) -> list[str]:
    with pytest.raises(ContentError) as caught:
        load_knowledge(root)
    lines = [str(p) for p in caught.value.problems]
    assert str(caught.value).splitlines() == lines
    return lines


# --- the real content --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kb() -> Knowledge:
    return load_knowledge()


def test_real_content_has_the_seven_topics_in_order(kb: Knowledge) -> None:
    assert [t.id for t in kb.catalog.topics] == TOPIC_IDS
    assert [t.order for t in kb.catalog.topics] == list(range(1, 8))


@pytest.mark.parametrize("topic_id", TOPIC_IDS)
def test_topic_is_complete_in_both_languages(kb: Knowledge, topic_id: str) -> None:
    t = kb.catalog.topic(topic_id)
    assert t is not None
    for lang in ("en", "nb"):
        assert t.title.get(lang).strip()
        assert t.symptom.get(lang).strip()
        assert t.steps[lang], f"{topic_id}: no {lang} steps"
        assert all(step.strip() for step in t.steps[lang])
    assert len(t.steps["en"]) == len(t.steps["nb"])
    assert all(link.url.startswith("https://") for link in t.links)
    assert any(link.url.startswith(LEARN) for link in t.links), f"{topic_id}: no Learn link"


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


@pytest.mark.parametrize("topic_id", TOPIC_IDS)
def test_topic_text_is_translated(kb: Knowledge, topic_id: str) -> None:
    t = kb.catalog.topic(topic_id)
    assert t is not None
    pairs = [("title", t.title.en, t.title.nb), ("symptom", t.symptom.en, t.symptom.nb)]
    pairs += [
        (f"step {n}", en, nb)
        for n, (en, nb) in enumerate(zip(t.steps["en"], t.steps["nb"], strict=True), 1)
    ]
    untranslated = [name for name, en, nb in pairs if _same(en, nb)]
    assert untranslated == []


def test_code_entries_are_translated_step_for_step(kb: Knowledge) -> None:
    # The validator does not compare en/nb check counts for codes; a card would number them
    # differently per language.
    uneven = [
        c.code for c in kb.catalog.codes.values() if len(c.checks["en"]) != len(c.checks["nb"])
    ]
    same = [c.code for c in kb.catalog.codes.values() if _same(c.meaning.en, c.meaning.nb)]
    assert (uneven, same) == ([], [])


def test_every_ui_string_is_translated_and_internal_error_takes_a_ref(kb: Knowledge) -> None:
    # "Yes" and "Ja" differ; identical strings are only allowed where the word is the same.
    same_in_both = {"ticket_status"}  # "Status" is Norwegian too
    assert [k for k, v in kb.catalog.ui.items() if _same(v.en, v.nb)] == sorted(same_in_both)
    for lang in ("en", "nb"):
        # bot/adapter.py formats this string with ref= inside the turn error handler.
        formatted = kb.catalog.text("internal_error", lang).format(ref="abc123")
        assert "abc123" in formatted


def test_handlers_in_content_and_registry_match(kb: Knowledge) -> None:
    used = {t.handler for t in kb.catalog.topics}
    assert used <= set(HANDLERS), f"unregistered: {used - set(HANDLERS)}"
    assert set(HANDLERS) <= used | {"topic"}, f"registered but unused: {set(HANDLERS) - used}"


def test_loading_leaves_the_global_yaml_loader_alone() -> None:
    before = dict(yaml.SafeLoader.yaml_constructors)
    load_knowledge()
    assert yaml.SafeLoader.yaml_constructors == before
    assert type(yaml.safe_load("a: [1]")) is dict
    assert type(yaml.safe_load("a: [1]")["a"]) is list


# --- broken content ----------------------------------------------------------------------------


def test_template_folder_is_valid(tmp_path: Path) -> None:
    kb = load_knowledge(
        make_content(tmp_path, {"alpha.yaml": topic(), "beta.yaml": topic("beta", 2)})
    )
    assert [t.id for t in kb.catalog.topics] == ["alpha", "beta"]


def test_missing_field_is_reported_at_the_mapping(tmp_path: Path) -> None:
    text = drop_key(topic(), "symptom")
    root = make_content(tmp_path, {"alpha.yaml": text})
    expected = (
        f"content/topics/alpha.yaml:{line_of(text, 'id: alpha')}: topic: missing field 'symptom'"
    )
    assert expected in problems_of(root)


def test_missing_field_is_reported_once(tmp_path: Path) -> None:
    text = drop_key(topic(), "symptom")
    root = make_content(tmp_path, {"alpha.yaml": text})
    line = line_of(text, "id: alpha")
    assert problems_of(root) == [
        f"content/topics/alpha.yaml:{line}: topic: missing field 'symptom'"
    ]


def _case_duplicate_key() -> tuple[str, list[str]]:
    text = edit(topic(), "steps:\n", "order: 9\nsteps:\n")
    first, dup = line_of(text, "order: 1"), line_of(text, "order: 9")
    return text, [f"{dup}: duplicate key 'order' (first at line {first})"]


def _case_empty_steps() -> tuple[str, list[str]]:
    text = edit(
        topic(),
        '  en:\n    - "Open the alpha log."\n    - "Restart the alpha service."\n'
        '  nb:\n    - "Apne loggen for alpha."\n    - "Start tjenesten alpha pa nytt."\n',
        "  en: []\n  nb: []\n",
    )
    return text, [
        f"{line_of(text, 'en: []')}: steps.en must not be empty",
        f"{line_of(text, 'nb: []')}: steps.nb must not be empty",
    ]


def _case_missing_nb() -> tuple[str, list[str]]:
    text = edit(topic(), '  nb: "Kjoringen alpha stopper med en gang."\n', "")
    line = line_of(text, 'en: "The alpha run stops')
    return text, [f"{line}: symptom: language 'nb' is missing"]


def _case_http_url() -> tuple[str, list[str]]:
    text = edit(topic(), "url: https://learn", "url: http://learn")
    url = "http://learn.microsoft.com/en-us/microsoft-identity-manager/alpha"
    return text, [f"{line_of(text, 'url:')}: link url: '{url}' is not a valid https URL"]


def _case_retired_host() -> tuple[str, list[str]]:
    text = edit(topic(), "url: https://learn.microsoft.com", "url: https://docs.microsoft.com")
    hosts = "learn.microsoft.com, support.microsoft.com, www.microsoft.com"
    return text, [
        f"{line_of(text, 'url:')}: link url: host 'docs.microsoft.com' is not a current address"
        f" ({hosts})"
    ]


def _case_invalid_yaml() -> tuple[str, list[str]]:
    text = edit(topic(), '  en: "The alpha run stops at once."', "  en: The alpha run: stops")
    line = line_of(text, "The alpha run: stops")
    return text, [f"{line}: invalid YAML: mapping values are not allowed here"]


def _case_step_count() -> tuple[str, list[str]]:
    text = edit(
        topic(), '    - "Restart the alpha service."\n', '    - "Restart."\n    - "Wait."\n'
    )
    return text, [f"{line_of(text, 'steps:')}: steps: en and nb must have as many steps"]


def _case_unknown_field() -> tuple[str, list[str]]:
    text = topic() + "owner: helpdesk\n"
    return text, [f"{line_of(text, 'owner:')}: topic: unknown field 'owner'"]


TOPIC_CASES = {
    "duplicate key": _case_duplicate_key,
    "empty steps": _case_empty_steps,
    "missing nb": _case_missing_nb,
    "http url": _case_http_url,
    "retired docs host": _case_retired_host,
    "invalid yaml": _case_invalid_yaml,
    "en/nb step count": _case_step_count,
    "unknown field": _case_unknown_field,
}


@pytest.mark.parametrize("case", TOPIC_CASES)
def test_broken_topic_is_refused_with_path_and_line(tmp_path: Path, case: str) -> None:
    text, expected = TOPIC_CASES[case]()
    # A valid neighbour proves only the broken file is blamed.
    root = make_content(tmp_path, {"alpha.yaml": text, "beta.yaml": topic("beta", 2)})
    assert sorted(problems_of(root)) == sorted(f"content/topics/alpha.yaml:{e}" for e in expected)


def test_duplicate_topic_id_points_at_the_id_line(tmp_path: Path) -> None:
    second = topic("alpha", 2)
    root = make_content(tmp_path, {"alpha.yaml": topic(), "zeta.yaml": second})
    assert problems_of(root) == [
        f"content/topics/zeta.yaml:{line_of(second, 'id: alpha')}: duplicate topic id 'alpha'"
        " (also in content/topics/alpha.yaml)"
    ]


def test_duplicate_topic_id_across_files(tmp_path: Path) -> None:
    # With id on line 1 the current and the correct line agree; the test above pins the line.
    second = topic("alpha", 2).split("\n", 1)[1]
    assert line_of(second, "id: alpha") == 1
    root = make_content(tmp_path, {"alpha.yaml": topic(), "zeta.yaml": second})
    assert problems_of(root) == [
        "content/topics/zeta.yaml:1: duplicate topic id 'alpha' (also in content/topics/alpha.yaml)"
    ]


def test_yes_no_keys_in_ui_are_refused_as_booleans(tmp_path: Path) -> None:
    ui = edit(edit(REAL_UI, "\nanswer_yes:", "\nyes:"), "\nanswer_no:", "\nno:")
    root = make_content(tmp_path, {"alpha.yaml": topic()}, ui=ui)
    first_key = line_of(ui, "welcome_title:")
    assert sorted(problems_of(root)) == sorted(
        [
            f"content/ui.yaml:{line_of(ui, 'yes:')}: key True must be a string",
            f"content/ui.yaml:{line_of(ui, 'no:')}: key False must be a string",
            f"content/ui.yaml:{first_key}: missing UI string 'answer_no'",
            f"content/ui.yaml:{first_key}: missing UI string 'answer_yes'",
        ]
    )


def test_missing_ui_string_is_refused(tmp_path: Path) -> None:
    ui = drop_key(REAL_UI, "escalate")
    root = make_content(tmp_path, {"alpha.yaml": topic()}, ui=ui)
    line = line_of(ui, "welcome_title:")
    assert problems_of(root) == [f"content/ui.yaml:{line}: missing UI string 'escalate'"]


def test_unregistered_handler_is_refused(tmp_path: Path) -> None:
    root = make_content(tmp_path, {"alpha.yaml": topic() + "handler: lookup\n"})
    with pytest.raises(ContentError) as caught:
        load_knowledge(root)
    assert [(p.path, p.message) for p in caught.value.problems] == [
        ("content/topics/alpha.yaml", "handler 'lookup' is not registered")
    ]


def test_unregistered_handler_points_at_the_handler_line(tmp_path: Path) -> None:
    text = topic() + "handler: lookup\n"
    root = make_content(tmp_path, {"alpha.yaml": text})
    line = line_of(text, "handler:")
    assert problems_of(root) == [
        f"content/topics/alpha.yaml:{line}: handler 'lookup' is not registered"
    ]


def test_unregistered_handler_is_reported_with_other_problems(tmp_path: Path) -> None:
    text = topic() + "handler: lookup\n"
    root = make_content(tmp_path, {"alpha.yaml": text}, ui=drop_key(REAL_UI, "escalate"))
    messages = [p.split(": ", 1)[1] for p in problems_of(root)]
    assert sorted(messages) == [
        "handler 'lookup' is not registered",
        "missing UI string 'escalate'",
    ]


CODE_FILE = """\
# Codes for the validation tests.
codes:
  - code: stopped-alpha
    kind: run-status
    topic: nowhere
    meaning: {en: "Alpha stopped.", nb: "Alfa stoppet."}
    checks: {en: ["Look."], nb: ["Se."]}
"""


def test_all_problems_in_all_files_come_in_one_error(tmp_path: Path) -> None:
    alpha = edit(topic(), "url: https://learn", "url: http://learn")
    alpha = edit(alpha, "steps:\n", 'title: {en: "Again", nb: "Igjen"}\nsteps:\n')
    beta = edit(
        topic("beta", 2), '  en: "The beta run stops at once."', "  en: The beta run: stops"
    )
    gamma = edit(topic("gamma", 3), '    - "Open the gamma log."\n', "") + "colour: red\n"
    zeta = topic("alpha", 4).split("\n", 1)[1]  # id on line 1: see test_duplicate_topic_id_*
    ui = edit(REAL_UI, "\nanswer_yes:", "\nyes:")
    files = {"alpha.yaml": alpha, "beta.yaml": beta, "gamma.yaml": gamma, "zeta.yaml": zeta}
    root = make_content(tmp_path, files, ui=ui, codes={"run.yaml": CODE_FILE})

    url = "http://learn.microsoft.com/en-us/microsoft-identity-manager/alpha"
    expected = [
        f"content/topics/alpha.yaml:{line_of(alpha, 'title: {')}: duplicate key 'title'"
        f" (first at line {line_of(alpha, 'title:')})",
        f"content/topics/alpha.yaml:{line_of(alpha, 'url:')}: link url: '{url}' is not a valid"
        " https URL",
        f"content/topics/beta.yaml:{line_of(beta, 'run: stops')}: invalid YAML: mapping values"
        " are not allowed here",
        f"content/topics/gamma.yaml:{line_of(gamma, 'steps:')}: steps: en and nb must have as many"
        " steps",
        f"content/topics/gamma.yaml:{line_of(gamma, 'colour:')}: topic: unknown field 'colour'",
        "content/topics/zeta.yaml:1: duplicate topic id 'alpha'"
        " (also in content/topics/alpha.yaml)",
        f"content/codes/run.yaml:{line_of(CODE_FILE, 'code: stopped-alpha')}: unknown topic"
        " 'nowhere'",
        f"content/ui.yaml:{line_of(ui, 'yes:')}: key True must be a string",
        f"content/ui.yaml:{line_of(ui, 'welcome_title:')}: missing UI string 'answer_yes'",
    ]
    found = problems_of(root)
    assert sorted(found) == sorted(expected)
    # Reported file by file, in the order a person fixes them.
    order = ["alpha.yaml", "beta.yaml", "gamma.yaml", "zeta.yaml", "run.yaml", "ui.yaml"]
    files_seen = [next(i for i, name in enumerate(order) if f"/{name}:" in p) for p in found]
    assert files_seen == sorted(files_seen)


# --- python -m intents check -------------------------------------------------------------------


def run_intents(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "intents", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


def test_check_accepts_the_real_content(kb: Knowledge) -> None:
    proc = run_intents("check")
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == f"ok: 7 topics, {len(kb.catalog.codes)} codes\n"


def test_check_refuses_a_broken_folder_with_path_line_on_stderr(tmp_path: Path) -> None:
    text, expected = _case_duplicate_key()
    root = make_content(tmp_path, {"alpha.yaml": text}, ui=drop_key(REAL_UI, "escalate"))
    ui_line = line_of(drop_key(REAL_UI, "escalate"), "welcome_title:")
    proc = run_intents("--content", str(root), "check")
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        f"content/topics/alpha.yaml:{expected[0]}",
        f"content/ui.yaml:{ui_line}: missing UI string 'escalate'",
        f"2 problem(s) in {root}",
    ]
    assert all(
        re.match(r"^content/\S+\.yaml:\d+: ", line) for line in proc.stderr.splitlines()[:-1]
    )
