"""Load and validate the YAML knowledge base, reporting every problem at once as path:line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from intents.checks import LINK_HOSTS as LINK_HOSTS  # re-exported: part of this module's API
from intents.checks import MISSING, FileChecks
from intents.checks import ContentError as ContentError
from intents.model import (
    CODE_KINDS,
    LANGS,
    Catalog,
    CodeInfo,
    CodeKind,
    Link,
    MatchSpec,
    Text,
    Topic,
    Vocabulary,
)
from intents.text import fold, tokens
from intents.yamlsrc import LineDict, LineList, Problem, load_yaml

TOPIC_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
TOPIC_KEYS = frozenset(
    {"id", "order", "title", "label", "symptom", "steps", "links", "match", "handler"}
)
LABEL_MAX = 48  # characters that fit a full-width Teams button at its narrowest
LINK_TITLE_MAX = 56  # link buttons get one row each, but Teams still cuts, never wraps
MATCH_KEYS = frozenset({"codes", "keywords", "phrases", "patterns"})
CODE_KEYS = frozenset({"code", "kind", "topic", "meaning", "checks", "aliases"})


def _links(f: FileChecks, value: Any, line: int) -> tuple[Link, ...]:
    if not isinstance(value, LineList) or not value:
        if value is not MISSING:
            f.fail(line, "links must be a non-empty list")
        return ()
    links = []
    for item, item_line in zip(value, value.item_lines, strict=True):
        node = f.mapping(item, item_line, "link")
        if node is None:
            continue
        f.unknown_keys(node, frozenset({"url", "title"}), "link")
        url = f.url(*f.field(node, "url", "link"), "link url")
        title = f.text(*f.field(node, "title", "link"), "link title")
        for lang in LANGS:
            if len(title.get(lang)) > LINK_TITLE_MAX:
                line = node.key_lines.get("title", node.line)
                f.fail(line, f"link title.{lang} is longer than {LINK_TITLE_MAX} characters")
        links.append(Link(url=url, title=title))
    return tuple(links)


def _match(f: FileChecks, value: Any, line: int) -> MatchSpec:
    node = f.mapping(value, line, "match")
    if node is None:
        return MatchSpec((), (), {lang: () for lang in LANGS})
    f.unknown_keys(node, MATCH_KEYS, "match")
    codes = (
        f.strings(node["codes"], node.key_lines["codes"], "match.codes") if "codes" in node else ()
    )
    keywords = f.strings(*f.field(node, "keywords", "match"), "match.keywords")
    phrases = f.per_lang_list(*f.field(node, "phrases", "match"), "match.phrases")
    patterns: tuple[str, ...] = ()
    if "patterns" in node:
        line = node.key_lines["patterns"]
        patterns = f.strings(node["patterns"], line, "match.patterns")
        items = node["patterns"]
        for pattern, item_line in zip(patterns, getattr(items, "item_lines", []), strict=False):
            try:
                re.compile(pattern)
            except re.error as exc:
                f.fail(item_line, f"match.patterns: invalid regular expression: {exc}")
    return MatchSpec(codes=codes, keywords=keywords, phrases=phrases, patterns=patterns)


def _label(f: FileChecks, node: LineDict) -> Text:
    label = f.text(*f.field(node, "label", "topic"), "label")
    for lang in LANGS:
        if len(label.get(lang)) > LABEL_MAX:
            line = node.key_lines.get("label", node.line)
            f.fail(line, f"label.{lang} is longer than {LABEL_MAX} characters (Teams cuts buttons)")
    return label


def _topic(f: FileChecks, doc: Any, handlers: frozenset[str] | None) -> Topic | None:
    node = f.mapping(doc, 1, "a topic file")
    if node is None:
        return None
    f.unknown_keys(node, TOPIC_KEYS, "topic")
    topic_id = f.string(*f.field(node, "id", "topic"), "id")
    if topic_id and not TOPIC_ID.match(topic_id):
        f.fail(node.key_lines["id"], f"id '{topic_id}' must be lowercase words joined by '-'")
    order, order_line = f.field(node, "order", "topic")
    if order is not MISSING and (
        not isinstance(order, int) or isinstance(order, bool) or order < 1
    ):
        f.fail(order_line, "order must be a positive integer")
        order = 0
    steps = f.per_lang_list(*f.field(node, "steps", "topic"), "steps")
    if len(steps["en"]) != len(steps["nb"]):
        f.fail(node.key_lines.get("steps", node.line), "steps: en and nb must have as many steps")
    handler = "topic"
    if "handler" in node:
        handler = f.string(node["handler"], node.key_lines["handler"], "handler")
        if handlers is not None and handler and handler not in handlers:
            f.fail(node.key_lines["handler"], f"handler '{handler}' is not registered")
    return Topic(
        id=topic_id,
        order=order if isinstance(order, int) else 0,
        title=f.text(*f.field(node, "title", "topic"), "title"),
        label=_label(f, node),
        symptom=f.text(*f.field(node, "symptom", "topic"), "symptom"),
        steps=steps,
        links=_links(f, *f.field(node, "links", "topic")),
        match=_match(f, *f.field(node, "match", "topic")),
        handler=handler,
        source=f.path,
        source_line=node.key_lines.get("id", 1),
    )


def _codes(f: FileChecks, doc: Any, code_lines: dict[str, tuple[str, int]]) -> list[CodeInfo]:
    node = f.mapping(doc, 1, "a code file")
    if node is None:
        return []
    f.unknown_keys(node, frozenset({"codes"}), "code file")
    items, line = f.field(node, "codes", "code file")
    if not isinstance(items, LineList) or not items:
        f.fail(line, "codes must be a non-empty list")
        return []
    out = []
    for item, item_line in zip(items, items.item_lines, strict=True):
        entry = f.mapping(item, item_line, "code entry")
        if entry is None:
            continue
        f.unknown_keys(entry, CODE_KEYS, "code")
        code = f.string(*f.field(entry, "code", "code"), "code").lower()
        kind, kind_line = f.field(entry, "kind", "code")
        if kind is not MISSING and kind not in CODE_KINDS:
            f.fail(kind_line, f"kind must be one of {', '.join(CODE_KINDS)}")
        aliases: tuple[str, ...] = ()
        if "aliases" in entry:
            aliases = f.strings(entry["aliases"], entry.key_lines["aliases"], "aliases")
        for name in (code, *(a.lower() for a in aliases)):
            if name in code_lines:
                first_path, first_line = code_lines[name]
                f.fail(item_line, f"duplicate code '{name}' (first at {first_path}:{first_line})")
            elif name:
                code_lines[name] = (f.path, item_line)
        kind_value: CodeKind = kind if kind in CODE_KINDS else "run-status"
        out.append(
            CodeInfo(
                code=code,
                kind=kind_value,
                topic=f.string(*f.field(entry, "topic", "code"), "topic"),
                meaning=f.text(*f.field(entry, "meaning", "code"), "meaning"),
                checks=f.per_lang_list(*f.field(entry, "checks", "code"), "checks"),
                aliases=tuple(a.lower() for a in aliases),
            )
        )
    return out


def _ui(f: FileChecks, doc: Any, required: frozenset[str]) -> dict[str, Text]:
    node = f.mapping(doc, 1, "ui.yaml")
    if node is None:
        return {}
    strings = {key: f.text(value, node.key_lines[key], key) for key, value in node.items()}
    for key in sorted(required - strings.keys()):
        f.fail(node.line, f"missing UI string '{key}'")
    return strings


def _vocabulary(f: FileChecks, doc: Any) -> Vocabulary:
    node = f.mapping(doc, 1, "vocabulary.yaml")
    if node is None:
        return Vocabulary()
    f.unknown_keys(node, frozenset({"synonyms", "out_of_scope"}), "vocabulary")
    synonyms: dict[str, str] = {}
    first_line: dict[str, int] = {}
    groups = node.get("synonyms", LineList())
    if not isinstance(groups, LineList):
        f.fail(node.key_lines.get("synonyms", 1), "synonyms must be a list of word lists")
        groups = LineList()
    for group, line in zip(groups, getattr(groups, "item_lines", []), strict=True):
        words = [" ".join(tokens(w)) for w in f.strings(group, line, "synonym group")]
        if words and " " in words[0]:
            f.fail(line, f"'{words[0]}': the first entry of a group must be a single word")
        for word in words:
            if word in synonyms and synonyms[word] != words[0]:
                f.fail(line, f"'{word}' is already in the group at line {first_line[word]}")
            else:
                synonyms[word] = words[0]
                first_line.setdefault(word, line)
    out: tuple[str, ...] = ()
    if "out_of_scope" in node:
        out = f.strings(node["out_of_scope"], node.key_lines["out_of_scope"], "out_of_scope")
    return Vocabulary(synonyms=synonyms, out_of_scope=frozenset(fold(w) for w in out))


def _read(path: Path, root: Path, problems: list[Problem]) -> tuple[FileChecks, Any]:
    shown = str(path.relative_to(root.parent)) if path.is_relative_to(root.parent) else str(path)
    f = FileChecks(shown, problems)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        f.fail(1, f"cannot read file: {exc}")
        return f, None
    return f, load_yaml(text, shown, problems)


def load_catalog(
    root: Path, required_ui: frozenset[str] = frozenset(), handlers: frozenset[str] | None = None
) -> Catalog:
    """Read ``root`` (the content folder) and return the catalog, or raise ContentError.

    ``required_ui`` names the UI strings that must exist; ``handlers``, when given, the handler
    names a topic may use.
    """
    problems: list[Problem] = []
    topics: list[Topic] = []
    first_id: dict[str, str] = {}
    topic_files = sorted((root / "topics").glob("*.yaml"))
    if not topic_files:
        problems.append(Problem(str(root / "topics"), 1, "no topic files (*.yaml) found"))
    for path in topic_files:
        f, doc = _read(path, root, problems)
        if doc is None and not any(p.path == f.path for p in problems):
            f.fail(1, "file is empty")
        topic = _topic(f, doc, handlers) if doc is not None else None
        if topic is None or not topic.id:
            continue
        if topic.id in first_id:
            f.fail(
                topic.source_line, f"duplicate topic id '{topic.id}' (also in {first_id[topic.id]})"
            )
            continue
        first_id[topic.id] = f.path
        topics.append(topic)
    codes: dict[str, CodeInfo] = {}
    code_lines: dict[str, tuple[str, int]] = {}
    for path in sorted((root / "codes").glob("*.yaml")):
        f, doc = _read(path, root, problems)
        for info in _codes(f, doc, code_lines) if doc is not None else []:
            if info.topic and info.topic not in first_id:
                f.fail(code_lines.get(info.code, (f.path, 1))[1], f"unknown topic '{info.topic}'")
            codes.setdefault(info.code, info)
    ui: dict[str, Text] = {}
    ui_path = root / "ui.yaml"
    if ui_path.exists():
        f, doc = _read(ui_path, root, problems)
        ui = _ui(f, doc, required_ui) if doc is not None else {}
    elif required_ui:
        problems.append(Problem(str(ui_path), 1, "missing ui.yaml"))
    vocabulary = Vocabulary()
    if (root / "vocabulary.yaml").exists():
        f, doc = _read(root / "vocabulary.yaml", root, problems)
        vocabulary = _vocabulary(f, doc) if doc is not None else Vocabulary()
    if problems:
        raise ContentError(problems)
    topics.sort(key=lambda t: (t.order, t.id))
    return Catalog(topics=tuple(topics), codes=codes, ui=ui, vocabulary=vocabulary)
