"""Recognise MIM codes in text: status strings, object errors, HRESULTs, event ids, builds."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from intents.model import Catalog
from intents.text import tokens

GENERAL_TOPIC = "run-error-codes"
_HEX = re.compile(r"(?:0x)?(80[0-9a-f]{6})")
MAX_SCAN_WORDS = 400
# "success" is a status only when it is (nearly) the whole message.
PLAIN_WORD_MAX_TOKENS = 3
LONG_NAME = 14
_VERSION = re.compile(r"\d+(?:\.\d+)+")


@dataclass(frozen=True)
class CodeTable:
    """Code spelling (folded, tokens joined by '-' or ' ') -> (owning topic, canonical code)."""

    owners: Mapping[str, tuple[str, str]]
    hyphenated: tuple[str, ...]
    spaced: tuple[str, ...]
    plain: frozenset[str]
    patterns: tuple[tuple[re.Pattern[str], str], ...] = ()
    long_names: tuple[str, ...] = ()  # single-word codes of LONG_NAME letters or more
    # First words of known hyphenated codes ("stopped", "no", "cd"): a hyphenated word that
    # starts like this but is not a code is probably a mistyped or invented code.
    families: frozenset[str] = frozenset()
    # Every pattern as one alternation: a single regex call rules out the words none of them
    # can match (nearly all). None when a pattern has groups, which joining would renumber.
    any_pattern: re.Pattern[str] | None = None


def build_code_table(catalog: Catalog) -> CodeTable:
    owners: dict[str, tuple[str, str]] = {}
    for info in catalog.codes.values():
        for name in (info.code, *info.aliases):
            owners[" ".join(tokens(name))] = (info.topic, info.code)
    for topic in catalog.topics:
        owners[topic.id] = (topic.id, topic.id)  # a topic id typed as is (a Teams command)
        for code in topic.match.codes:
            key = " ".join(tokens(code))
            owners[key] = (topic.id, owners.get(key, (topic.id, key))[1])
    patterns = tuple(
        (re.compile(p), topic.id) for topic in catalog.topics for p in topic.match.patterns
    )
    return CodeTable(
        owners=owners,
        hyphenated=tuple(sorted(c for c in owners if "-" in c and " " not in c)),
        spaced=tuple(sorted((c for c in owners if " " in c), key=len, reverse=True)),
        plain=frozenset(c for c in owners if c.isalpha()),
        patterns=patterns,
        long_names=tuple(sorted(c for c in owners if c.isalpha() and len(c) >= LONG_NAME)),
        families=frozenset(c.split("-")[0] for c in owners if "-" in c and " " not in c),
        any_pattern=joined_patterns([p for p, _ in patterns]),
    )


def joined_patterns(patterns: list[re.Pattern[str]]) -> re.Pattern[str] | None:
    """One pattern that fully matches exactly the words one of ``patterns`` fully matches."""
    if not patterns or any(p.groups for p in patterns):
        return None
    try:
        return re.compile("|".join(f"(?:{p.pattern})" for p in patterns))
    except re.error:  # e.g. a global inline flag, allowed only at the start
        return None


def find_codes(table: CodeTable, words: list[str], fuzzy_cutoff: float) -> list[str]:
    """Known codes in ``words`` (folded tokens), in order of appearance, without repeats.

    Finds exact tokens, codes typed with spaces instead of hyphens ("stopped server"), HRESULTs
    with or without 0x, and near-miss spellings of hyphenated codes ("stoped-connectivity").
    """
    found: list[str] = []
    joined = " " + " ".join(words) + " "
    for code in table.spaced:
        if f" {code} " in joined:
            found.append(code)
    limit = min(len(words), MAX_SCAN_WORDS)
    for i in range(limit):
        word = words[i]
        if word.isalpha() and len(word) < LONG_NAME and word not in table.owners:
            # An ordinary word (nearly every one): of the cases below only a content pattern
            # can claim it, and only a code family joins it with the next words.
            if pattern_owner(table, word):
                found.append(word)
            if word not in table.families:
                continue
        elif (hexed := _hex(word)) and "0x" + hexed in table.owners:
            found.append("0x" + hexed)
        elif word in table.owners:
            if word not in table.plain or len(words) <= PLAIN_WORD_MAX_TOKENS:
                found.append(word)
        elif pattern_owner(table, word):
            found.append(word)
        elif "-" in word and len(word) >= 8:
            near = process.extractOne(
                word, table.hyphenated, scorer=fuzz.ratio, score_cutoff=fuzzy_cutoff
            )
            if near is not None:
                found.append(near[0])
        elif "." in word and not _VERSION.fullmatch(word):
            # A pasted .NET name: Microsoft.MetadirectoryServices.ObjectAlreadyExistsException
            found.extend(part for part in word.split(".") if part in table.owners)
        elif len(word) >= LONG_NAME and word.isalpha():
            # An exception name cut short or run on: ObjectAlreadyExists(Exception)
            found.extend(c for c in table.long_names if c.startswith(word) or word.startswith(c))
        if word.partition("-")[0] not in table.families:
            continue  # no hyphenated code starts like this: no need to join the next words
        for size in (2, 3, 4, 5, 6):
            if i + size <= limit:
                dashed = "-".join(words[i : i + size])
                if dashed in table.owners:
                    found.append(dashed)
    return list(dict.fromkeys(found))


def _hex(word: str) -> str | None:
    """The eight hex digits of an HRESULT written with or without 0x ("80070005")."""
    if not word.startswith(("0x", "80")):
        return None
    hexed = _HEX.fullmatch(word)
    return hexed.group(1) if hexed else None


def pattern_owner(table: CodeTable, word: str) -> str | None:
    """The topic whose pattern matches this token (a build number, a KB article), if any."""
    if table.any_pattern is not None and table.any_pattern.fullmatch(word) is None:
        return None
    for pattern, topic in table.patterns:
        if pattern.fullmatch(word):
            return topic
    return None


def owner(table: CodeTable, code: str) -> tuple[str, str]:
    """(owning topic, canonical code) for a code ``find_codes`` returned."""
    if code in table.owners:
        return table.owners[code]
    return pattern_owner(table, code) or GENERAL_TOPIC, code


def unknown_codes(table: CodeTable, words: list[str]) -> list[str]:
    """Words shaped like a MIM status or error string that no content knows."""
    return [
        w
        for w in dict.fromkeys(words[:MAX_SCAN_WORDS])
        if "-" in w
        and w not in table.owners
        and w.split("-")[0] in table.families
        and all(p.isalpha() for p in w.split("-"))
    ]


def closest_codes(table: CodeTable, word: str, limit: int = 3) -> tuple[str, ...]:
    """The real codes nearest to ``word``, best first."""
    found = process.extract(word, table.hyphenated, scorer=fuzz.ratio, limit=limit)
    return tuple(dict.fromkeys(table.owners[code][1] for code, _, _ in found))
