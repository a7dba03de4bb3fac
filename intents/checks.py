"""Checks of YAML values that append problems (path:line) instead of raising, for content/."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from intents.model import LANGS, Lang, Text
from intents.yamlsrc import LineDict, LineList, Problem

# Microsoft retired docs.microsoft.com and social.technet; content must cite current addresses.
LINK_HOSTS = frozenset({"learn.microsoft.com", "support.microsoft.com", "www.microsoft.com"})

# What ``_File.field`` returns for an absent key: already reported, so checks stay quiet on it.
MISSING: Any = object()


class ContentError(Exception):
    """Raised with every problem found; ``str()`` gives one ``path:line: message`` per line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in problems))


class FileChecks:
    """Validation helpers bound to one file; they append problems instead of raising."""

    def __init__(self, path: str, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems

    def fail(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, message))

    def mapping(self, value: Any, line: int, what: str) -> LineDict | None:
        if isinstance(value, LineDict):
            return value
        if value is MISSING:
            return None
        self.fail(line, f"{what} must be a mapping")
        return None

    def field(self, parent: LineDict, key: str, what: str) -> tuple[Any, int]:
        if key not in parent:
            self.fail(parent.line, f"{what}: missing field '{key}'")
            return MISSING, parent.line
        return parent[key], parent.key_lines[key]

    def unknown_keys(self, parent: LineDict, allowed: frozenset[str], what: str) -> None:
        for key in parent:
            if key not in allowed:
                self.fail(parent.key_lines[key], f"{what}: unknown field '{key}'")

    def string(self, value: Any, line: int, what: str) -> str:
        if isinstance(value, str) and value.strip():
            return value.strip()
        if value is not MISSING:
            self.fail(line, f"{what} must be a non-empty string")
        return ""

    def text(self, value: Any, line: int, what: str) -> Text:
        node = self.mapping(value, line, f"{what} (one entry per language: en, nb)")
        if node is None:
            return Text("", "")
        self.unknown_keys(node, frozenset(LANGS), what)
        found = {}
        for lang in LANGS:
            if lang not in node:
                self.fail(node.line, f"{what}: language '{lang}' is missing")
                found[lang] = ""
            else:
                found[lang] = self.string(node[lang], node.key_lines[lang], f"{what}.{lang}")
        return Text(en=found["en"], nb=found["nb"])

    def strings(self, value: Any, line: int, what: str, *, unique: bool = True) -> tuple[str, ...]:
        if not isinstance(value, LineList):
            if value is not MISSING:
                self.fail(line, f"{what} must be a list")
            return ()
        if not value:
            self.fail(line, f"{what} must not be empty")
        seen: dict[str, int] = {}
        out = []
        for item, item_line in zip(value, value.item_lines, strict=True):
            text = self.string(item, item_line, f"{what} item")
            key = text.casefold()
            if unique and key and key in seen:
                self.fail(
                    item_line, f"{what}: duplicate entry '{text}' (first at line {seen[key]})"
                )
            seen.setdefault(key, item_line)
            out.append(text)
        return tuple(out)

    def per_lang_list(self, value: Any, line: int, what: str) -> dict[Lang, tuple[str, ...]]:
        node = self.mapping(value, line, f"{what} (one list per language: en, nb)")
        result: dict[Lang, tuple[str, ...]] = {lang: () for lang in LANGS}
        if node is None:
            return result
        self.unknown_keys(node, frozenset(LANGS), what)
        for lang in LANGS:
            if lang not in node:
                self.fail(node.line, f"{what}: language '{lang}' is missing")
            else:
                result[lang] = self.strings(node[lang], node.key_lines[lang], f"{what}.{lang}")
        return result

    def url(self, value: Any, line: int, what: str) -> str:
        url = self.string(value, line, what)
        if not url:
            return ""
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.netloc or any(c.isspace() for c in url):
            self.fail(line, f"{what}: '{url}' is not a valid https URL")
        elif parts.hostname not in LINK_HOSTS:
            hosts = ", ".join(sorted(LINK_HOSTS))
            self.fail(line, f"{what}: host '{parts.hostname}' is not a current address ({hosts})")
        return url
