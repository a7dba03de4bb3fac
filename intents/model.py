"""Frozen data types for the knowledge base: topics, run codes, UI strings and the catalog."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Lang = Literal["en", "nb"]
LANGS: tuple[Lang, ...] = ("en", "nb")


@dataclass(frozen=True)
class Text:
    """One user-visible sentence in every supported language."""

    en: str
    nb: str

    def get(self, lang: Lang) -> str:
        return self.nb if lang == "nb" else self.en


@dataclass(frozen=True)
class Link:
    url: str
    title: Text


@dataclass(frozen=True)
class MatchSpec:
    """What a topic is recognised by: exact codes, distinctive keywords and example phrasings."""

    codes: tuple[str, ...]
    keywords: tuple[str, ...]
    phrases: Mapping[Lang, tuple[str, ...]]
    patterns: tuple[str, ...] = ()  # regular expressions a whole folded token must match


@dataclass(frozen=True)
class Topic:
    id: str
    order: int
    title: Text
    label: Text  # the short form on buttons: Teams cuts button titles, it never wraps them
    symptom: Text
    steps: Mapping[Lang, tuple[str, ...]]
    links: tuple[Link, ...]
    match: MatchSpec
    handler: str = "topic"
    source: str = ""
    source_line: int = 1


CodeKind = Literal["run-status", "object-error", "hresult", "event"]
CODE_KINDS: tuple[CodeKind, ...] = ("run-status", "object-error", "hresult", "event")


@dataclass(frozen=True)
class CodeInfo:
    """A run status, object error type, HRESULT or event id with its meaning and first checks."""

    code: str
    kind: CodeKind
    topic: str
    meaning: Text
    checks: Mapping[Lang, tuple[str, ...]]
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Vocabulary:
    """Shared matching vocabulary: synonym groups (folded word -> the group's first word) and
    words that mark a question as being about something other than MIM Sync."""

    synonyms: Mapping[str, str] = field(default_factory=dict)
    out_of_scope: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Catalog:
    """All validated content, built once at load and never mutated."""

    topics: tuple[Topic, ...]
    codes: Mapping[str, CodeInfo] = field(default_factory=dict)
    ui: Mapping[str, Text] = field(default_factory=dict)
    vocabulary: Vocabulary = field(default_factory=Vocabulary)

    def topic(self, topic_id: str) -> Topic | None:
        for topic in self.topics:
            if topic.id == topic_id:
                return topic
        return None

    def text(self, key: str, lang: Lang) -> str:
        return self.ui[key].get(lang)
