"""The matcher: a pure, synchronous function from free text to answer, clarify or fallback."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz, process

from intents.model import Catalog, CodeInfo
from intents.text import clean, content_tokens, fold, tokens

Outcome = Literal["answer", "clarify", "fallback"]


@dataclass(frozen=True)
class Thresholds:
    """Named, calibrated settings of the matcher (scores are 0-100)."""

    answer: float = 55.0
    clarify: float = 38.0
    margin: float = 12.0
    max_candidates: int = 3
    fuzzy_token: float = 84.0
    fuzzy_code: float = 90.0


@dataclass(frozen=True)
class Candidate:
    intent: str
    score: float


@dataclass(frozen=True)
class Match:
    """The matcher's verdict; ``matched`` lists the terms or code it rests on."""

    outcome: Outcome
    intent: str | None
    score: float
    candidates: tuple[Candidate, ...]
    entity: str | None = None
    matched: tuple[str, ...] = ()


# Words every MIM question contains; they may support a topic but never carry one.
GENERIC_TERMS = frozenset(
    fold(w)
    for w in """mim fim identity manager microsoft sync synch synk synkronisering synchronization
    synchronisation service tjeneste tjenesten server error errors feil problem problems issue
    issues help hjelp run runs kjoring kjøring agent ma management fails failed failing fail
    works working work fungerer funker virker""".split()
)
KEYWORD_WEIGHT = 2.0
GENERIC_WEIGHT = 0.15
UNKNOWN_WEIGHT = 1.0
EVIDENCE_SCALE = 2.2
_HEX = re.compile(r"\b(?:0x)?(80[0-9a-f]{6})\b")
_NUMBER = re.compile(r"\b(\d{4})\b")


@dataclass(frozen=True)
class _Term:
    weight: float
    topics: Mapping[str, float]


@dataclass(frozen=True)
class Index:
    """Everything the matcher needs, precomputed once from a catalog."""

    topic_ids: tuple[str, ...]
    terms: Mapping[str, _Term]
    vocab: tuple[str, ...]
    multiword: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]
    codes: Mapping[str, tuple[str, str]]
    hyphen_codes: tuple[str, ...]
    spaced_codes: tuple[str, ...]
    phrases: tuple[str, ...]
    phrase_topic: tuple[str, ...]
    thresholds: Thresholds


def build_index(catalog: Catalog, thresholds: Thresholds | None = None) -> Index:
    """Precompute term weights, code tables and phrase lists; run once per content load."""
    raw: dict[str, dict[str, float]] = {}
    multiword: dict[str, dict[str, float]] = {}

    def add(term: str, topic: str, weight: float) -> None:
        slot = raw.setdefault(term, {})
        slot[topic] = max(slot.get(topic, 0.0), weight)

    phrases: list[str] = []
    phrase_topic: list[str] = []
    for topic in catalog.topics:
        for keyword in topic.match.keywords:
            words = content_tokens(keyword)
            if len(tokens(keyword)) > 1:
                multiword.setdefault(" ".join(tokens(keyword)), {})[topic.id] = KEYWORD_WEIGHT
            for word in words:
                add(word, topic.id, KEYWORD_WEIGHT if len(words) == 1 else 1.0)
        for lang_phrases in topic.match.phrases.values():
            for phrase in lang_phrases:
                for word in content_tokens(phrase):
                    add(word, topic.id, 1.0)
                phrases.append(" ".join(content_tokens(phrase)))
                phrase_topic.append(topic.id)
        add(fold(topic.id), topic.id, KEYWORD_WEIGHT)
    n = len(catalog.topics)
    terms = {
        term: _Term(
            weight=GENERIC_WEIGHT
            if term in GENERIC_TERMS
            else math.log((n + 1) / (len(per_topic) + 0.5)),
            topics=per_topic,
        )
        for term, per_topic in raw.items()
    }
    codes = _code_table(catalog)
    mw = {
        phrase: (tuple(phrase.split()), tuple(sorted(topics)))
        for phrase, topics in multiword.items()
    }
    return Index(
        topic_ids=tuple(t.id for t in catalog.topics),
        terms=terms,
        vocab=tuple(sorted(terms)),
        multiword=mw,
        codes=codes,
        hyphen_codes=tuple(sorted(c for c in codes if "-" in c and " " not in c)),
        spaced_codes=tuple(sorted((c for c in codes if " " in c), key=len, reverse=True)),
        phrases=tuple(phrases),
        phrase_topic=tuple(phrase_topic),
        thresholds=thresholds or Thresholds(),
    )


def _code_table(catalog: Catalog) -> dict[str, tuple[str, str]]:
    """Code string -> (owning topic, canonical code); topic-owned codes outrank the code table."""
    table: dict[str, tuple[str, str]] = {}
    info: CodeInfo
    for info in catalog.codes.values():
        for name in (info.code, *info.aliases):
            table[" ".join(tokens(name))] = (info.topic, info.code)
    for topic in catalog.topics:
        for code in topic.match.codes:
            key = " ".join(tokens(code))
            table[key] = (topic.id, table.get(key, (topic.id, key))[1])
    return table


def match(index: Index, text: str) -> Match:
    """Classify ``text``; never raises for any string and never mutates the index."""
    cleaned = clean(text)
    words = tokens(cleaned)
    if not words:
        return _fallback()
    by_code = _match_codes(index, words)
    if by_code is not None:
        return by_code
    return _match_words(index, words)


def _fallback(candidates: tuple[Candidate, ...] = (), score: float = 0.0) -> Match:
    return Match("fallback", None, score, candidates)


def _find_codes(index: Index, words: list[str]) -> list[str]:
    """Known codes in the text: exact tokens, codes typed with spaces, near-miss spellings."""
    found: list[str] = []
    joined = " " + " ".join(words) + " "
    for code in index.spaced_codes:
        if f" {code} " in joined:
            found.append(code)
    limit = min(len(words), 400)
    for i in range(limit):
        word = words[i]
        hexed = _HEX.fullmatch(word)
        if hexed and "0x" + hexed.group(1) in index.codes:
            found.append("0x" + hexed.group(1))
        elif word in index.codes:
            found.append(word)
        elif "-" in word and len(word) >= 8:
            near = process.extractOne(
                word,
                index.hyphen_codes,
                scorer=fuzz.ratio,
                score_cutoff=index.thresholds.fuzzy_code,
            )
            if near is not None:
                found.append(near[0])
        for size in (2, 3, 4, 5):
            if i + size <= limit:
                dashed = "-".join(words[i : i + size])
                if dashed in index.codes:
                    found.append(dashed)
    return found


def _match_codes(index: Index, words: list[str]) -> Match | None:
    found = _find_codes(index, words)
    if not found:
        return None
    # A code a specific topic claims outranks the general run-error table; longer codes are
    # more specific than the words they contain ("stopped-extension-dll-exception").
    owners: dict[str, str] = {}
    for code in sorted(dict.fromkeys(found), key=len, reverse=True):
        topic, canonical = index.codes[code]
        owners.setdefault(topic, canonical)
    specific = [t for t in owners if t != "run-error-codes"] or list(owners)
    if len(specific) == 1:
        topic = specific[0]
        entity = owners[topic]
        cands = tuple(Candidate(t, 100.0 if t == topic else 60.0) for t in owners)
        return Match("answer", topic, 100.0, cands, entity=entity, matched=(entity,))
    cands = tuple(Candidate(t, 90.0) for t in specific[: index.thresholds.max_candidates])
    matched = tuple(owners[t] for t in specific)
    return Match("clarify", None, 90.0, cands, matched=matched)


def _resolve(index: Index, word: str) -> tuple[str, float] | None:
    """Map a query word to a vocabulary term: exact, compound/inflection prefix, or a typo."""
    if word in index.terms:
        return word, 1.0
    if len(word) >= 5:
        for cut in range(len(word) - 1, 3, -1):
            if word[:cut] in index.terms:
                return word[:cut], 0.85
        near = process.extractOne(
            word, index.vocab, scorer=fuzz.ratio, score_cutoff=index.thresholds.fuzzy_token
        )
        if near is not None:
            return near[0], near[1] / 100.0
    return None


def _match_words(index: Index, words: list[str]) -> Match:
    query = list(dict.fromkeys(w for w in _content(words) if not w.isdigit() or len(w) >= 3))
    if not query:
        return _fallback()
    query_weight = 0.0
    evidence: dict[str, dict[str, float]] = {t: {} for t in index.topic_ids}
    covered: dict[str, float] = dict.fromkeys(index.topic_ids, 0.0)
    resolved_terms: set[str] = set()
    for word in query[:60]:
        hit = _resolve(index, word)
        if hit is None:
            query_weight += UNKNOWN_WEIGHT if len(word) > 2 else UNKNOWN_WEIGHT / 2
            continue
        term, factor = hit
        resolved_terms.add(term)
        info = index.terms[term]
        query_weight += info.weight
        for topic, topic_factor in info.topics.items():
            value = info.weight * factor * topic_factor
            if value > evidence[topic].get(term, 0.0):
                evidence[topic][term] = value
                covered[topic] += info.weight
    for phrase, (parts, topics) in index.multiword.items():
        if all(p in resolved_terms for p in parts if len(p) > 2):
            for topic in topics:
                evidence[topic][phrase] = KEYWORD_WEIGHT
    scored = []
    for topic in index.topic_ids:
        strength = sum(evidence[topic].values())
        coverage = min(1.0, covered[topic] / query_weight) if query_weight else 0.0
        score = 100.0 * math.sqrt(coverage) * (1.0 - math.exp(-strength / EVIDENCE_SCALE))
        scored.append((round(score, 1), topic))
    scored.sort(key=lambda item: (-item[0], index.topic_ids.index(item[1])))
    cands = tuple(Candidate(t, s) for s, t in scored if s > 0)[:5]
    return _decide(index, cands, evidence)


def _content(words: list[str]) -> list[str]:
    return content_tokens(" ".join(words))


def _decide(
    index: Index, cands: tuple[Candidate, ...], evidence: dict[str, dict[str, float]]
) -> Match:
    th = index.thresholds
    if not cands or cands[0].score < th.clarify:
        return _fallback(cands, cands[0].score if cands else 0.0)
    best = cands[0]
    second = cands[1].score if len(cands) > 1 else 0.0
    terms = tuple(sorted(evidence[best.intent], key=lambda t: -evidence[best.intent][t]))[:4]
    if best.score >= th.answer and best.score - second >= th.margin:
        return Match("answer", best.intent, best.score, cands, matched=terms)
    close = tuple(c for c in cands if best.score - c.score < th.margin)[: th.max_candidates]
    return Match("clarify", None, best.score, close, matched=terms)
