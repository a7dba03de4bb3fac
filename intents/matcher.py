"""The matcher: a pure, synchronous function from free text to answer, clarify or fallback."""

from __future__ import annotations

import bisect
import dataclasses
import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz, process

from intents.codes import (
    GENERAL_TOPIC,
    CodeTable,
    build_code_table,
    closest_codes,
    find_codes,
    owner,
    unknown_codes,
)
from intents.model import LANGS, Catalog
from intents.terms import TermRules
from intents.text import clean, fold, tokens

Outcome = Literal["answer", "clarify", "fallback"]


@dataclass(frozen=True)
class Thresholds:
    """Named, calibrated settings of the matcher (scores are 0-100)."""

    answer: float = 50.0
    clarify: float = 30.0
    margin: float = 8.0
    max_candidates: int = 3
    fuzzy_token: float = 84.0
    fuzzy_code: float = 90.0
    unknown_weight: float = 0.6
    out_of_scope_penalty: float = 0.5
    evidence_scale: float = 1.2
    coverage_power: float = 0.5


@dataclass(frozen=True)
class Candidate:
    intent: str
    score: float


@dataclass(frozen=True)
class Match:
    """The matcher's verdict; ``matched`` lists the code or terms it rests on."""

    outcome: Outcome
    intent: str | None
    score: float
    candidates: tuple[Candidate, ...]
    entity: str | None = None
    matched: tuple[str, ...] = ()
    unknown_code: str | None = None  # a code-shaped word no content knows
    suggestions: tuple[str, ...] = ()  # the real codes closest to it


# Words every MIM question contains; they may support a topic but never carry one.
GENERIC_TERMS = frozenset(
    fold(w)
    for w in """mim fim identity manager microsoft sync service tjeneste tjenesten server error
    problem problems issue issues help hjelp run agent ma management works working work
    fungerer funker virker""".split()
)
KEYWORD_WEIGHT = 2.0
# A word seen only in example phrasings may just be a common word ("hele", "account"): it
# counts for less than a keyword an author chose.
PHRASE_ONLY_FACTOR = 0.5
STEP_FACTOR = 0.5
GENERIC_WEIGHT = 0.15
MAX_QUERY_WORDS = 60
MIN_PREFIX = 4


@dataclass(frozen=True)
class _Term:
    weight: float
    topics: Mapping[str, float]
    # Per topic: (topic factor, coverage = weight * min(1, factor)), precomputed for _by_words.
    shares: tuple[tuple[str, float, float], ...] = ()


@dataclass(frozen=True)
class Index:
    """Everything the matcher needs, precomputed once from a catalog."""

    topic_ids: tuple[str, ...]
    terms: Mapping[str, _Term]
    vocab: tuple[str, ...]  # single-word terms, sorted
    by_length: tuple[tuple[str, ...], ...]  # the vocab again, by_length[n]: the words of n chars
    codes: CodeTable
    rules: TermRules
    out_of_scope: frozenset[str]
    thresholds: Thresholds


def build_index(catalog: Catalog, thresholds: Thresholds | None = None) -> Index:
    """Precompute term weights and code tables; run once per content load."""
    keywords = [k for topic in catalog.topics for k in topic.match.keywords]
    rules = TermRules.build(catalog.vocabulary.synonyms, keywords)
    raw: dict[str, dict[str, float]] = {}

    def add(words: list[str], topic: str, weight: float) -> None:
        for term in (*words, *rules.compounds_in(words)):
            slot = raw.setdefault(term, {})
            slot[topic] = max(slot.get(topic, 0.0), weight)

    for topic in catalog.topics:
        for keyword in topic.match.keywords:
            words = rules.words(keyword)
            add(words, topic.id, KEYWORD_WEIGHT if len(words) == 1 else 1.0)
            if len(words) > 1:
                add([" ".join(words)], topic.id, KEYWORD_WEIGHT)
        for phrases in topic.match.phrases.values():
            for phrase in phrases:
                add(rules.words(phrase), topic.id, 1.0)
        # The answer itself describes the problem: its words are weaker evidence.
        for lang in LANGS:
            for text in (topic.title.get(lang), topic.symptom.get(lang)):
                add(rules.words(text), topic.id, 1.0)
            for step in topic.steps[lang]:
                add(rules.words(step), topic.id, STEP_FACTOR)
    n = len(catalog.topics)
    vocab = tuple(sorted(t for t in raw if " " not in t))
    longest = max((len(w) for w in vocab), default=0)
    terms = {term: _term(_weight(term, per_topic, n), per_topic) for term, per_topic in raw.items()}
    return Index(
        topic_ids=tuple(t.id for t in catalog.topics),
        terms=terms,
        vocab=vocab,
        by_length=tuple(tuple(w for w in vocab if len(w) == size) for size in range(longest + 1)),
        codes=build_code_table(catalog),
        rules=rules,
        out_of_scope=frozenset(rules.synonyms.get(w, w) for w in catalog.vocabulary.out_of_scope),
        thresholds=thresholds or Thresholds(),
    )


def _term(weight: float, per_topic: Mapping[str, float]) -> _Term:
    shares = tuple((t, f, weight * min(1.0, f)) for t, f in per_topic.items())
    return _Term(weight=weight, topics=per_topic, shares=shares)


def _weight(term: str, per_topic: Mapping[str, float], n_topics: int) -> float:
    if term in GENERIC_TERMS:
        return GENERIC_WEIGHT
    idf = math.log((n_topics + 1) / (len(per_topic) + 0.5))
    return idf if max(per_topic.values()) >= KEYWORD_WEIGHT else idf * PHRASE_ONLY_FACTOR


def match(index: Index, text: str) -> Match:
    """Classify ``text``; never raises for any string and never mutates the index."""
    return match_words(index, tokens(clean(text)))


def match_words(index: Index, words: list[str]) -> Match:
    """``match`` of a text already split: ``words`` must be ``tokens(clean(text))``."""
    if not words:
        return Match("fallback", None, 0.0, ())
    codes = find_codes(index.codes, words, index.thresholds.fuzzy_code)
    if codes:
        return _by_code(index, words, codes)
    found = _by_words(index, words)
    unknown = unknown_codes(index.codes, words)
    if unknown and found.outcome != "answer":
        # "What does stopped-foo mean": say the code does not exist and offer real ones.
        suggestions = closest_codes(index.codes, unknown[0])
        return dataclasses.replace(
            found, outcome="fallback", unknown_code=unknown[0], suggestions=suggestions
        )
    return found


def _by_code(index: Index, words: list[str], codes: list[str]) -> Match:
    # Codes a specific topic claims outrank the general run-error table; among those, the
    # longest is the most specific ("stopped-extension-dll-exception" over "extension").
    owners: dict[str, str] = {}
    for code in sorted(codes, key=len, reverse=True):
        topic, canonical = owner(index.codes, code)
        owners.setdefault(topic, canonical)
    specific = [t for t in owners if t != GENERAL_TOPIC]
    if len(specific) > 1:
        cands = tuple(Candidate(t, 90.0) for t in specific[: index.thresholds.max_candidates])
        return Match("clarify", None, 90.0, cands, matched=tuple(owners[t] for t in specific))
    if specific:
        topic = specific[0]
        cands = tuple(
            sorted(
                (Candidate(t, 100.0 if t == topic else 60.0) for t in owners),
                key=lambda c: -c.score,
            )
        )
        entity = owners[topic] if owners[topic] != topic else None  # a typed topic id
        return Match("answer", topic, 100.0, cands, entity=entity, matched=(owners[topic],))
    # A general status: the rest of the message may still name the specific situation
    # ("stopped-server on the FIM Service MA export").
    entity = owners[GENERAL_TOPIC]
    related = index.terms[entity].topics if entity in index.terms else {}
    code_words = set(entity.split("-"))
    context = _by_words(index, [w for w in words if w not in codes and w not in code_words])
    # Only a topic whose own content names this code may take it over, and it needs only
    # clarify-level support from the rest of the message.
    best = next((c for c in context.candidates if c.intent in related), None)
    if best and best.intent != GENERAL_TOPIC and best.score >= index.thresholds.clarify:
        return Match(
            "answer",
            best.intent,
            best.score,
            context.candidates,
            entity=entity,
            matched=(entity, *context.matched),
        )
    cands = (Candidate(GENERAL_TOPIC, 100.0),)
    shown = None if entity == GENERAL_TOPIC else entity  # the topic id itself is no code
    return Match("answer", GENERAL_TOPIC, 100.0, cands, entity=shown, matched=(entity,))


def _resolve(index: Index, word: str) -> tuple[str, float] | None:
    """Map a query word to a vocabulary term: exact, inflection/compound prefix, or typo."""
    if word in index.terms:
        return word, 1.0
    if len(word) < MIN_PREFIX + 1:
        return None
    for cut in range(len(word) - 1, MIN_PREFIX - 1, -1):  # "synkroniseringen" -> "synk..."
        stem = index.rules.synonyms.get(word[:cut], word[:cut])
        if stem in index.terms:
            return stem, 0.85
    pos = bisect.bisect_left(index.vocab, word)  # "objectalreadyexists" -> "...exception"
    if pos < len(index.vocab) and index.vocab[pos].startswith(word) and len(word) >= 6:
        return index.vocab[pos], 0.85
    near = nearest(index.by_length, word, index.thresholds.fuzzy_token)
    if near is not None:
        return near[0], near[1] / 100.0
    return None


def nearest(
    by_length: Sequence[Sequence[str]], word: str, cutoff: float
) -> tuple[str, float] | None:
    """The best ``fuzz.ratio`` match for ``word`` scoring at least ``cutoff``, the
    alphabetically first among equals: what ``extractOne`` over the sorted vocabulary returns,
    without scoring words too long or too short to reach the cutoff.

    ratio = 100 * (1 - indel / (a + b)) and indel >= |a - b| for lengths a and b, so a word of
    length b can score at most 100 * (1 - |a - b| / (a + b)): with 84 that leaves about a
    third of the vocabulary, and a third of the time.
    """
    n = len(word)
    best: tuple[str, float] | None = None
    for size in _reachable_lengths(n, len(by_length), cutoff):
        found = process.extractOne(word, by_length[size], scorer=fuzz.ratio, score_cutoff=cutoff)
        if found is not None and (
            best is None or found[1] > best[1] or (found[1] == best[1] and found[0] < best[0])
        ):
            best = (found[0], found[1])
    return best


# A hair under the cutoff, so float rounding can only let a length in, never keep one out.
_ROUNDING = 1e-6


@functools.lru_cache(maxsize=1024)
def _reachable_lengths(n: int, sizes: int, cutoff: float) -> tuple[int, ...]:
    """Lengths below ``sizes`` whose best possible ratio against length ``n`` reaches ``cutoff``."""
    return tuple(
        size
        for size in range(sizes)
        if n + size == 0 or 100.0 * (1.0 - abs(n - size) / (n + size)) >= cutoff - _ROUNDING
    )


def _by_words(index: Index, words: list[str]) -> Match:
    th = index.thresholds
    seq = [w for w in index.rules.words_of(words, negation=True) if not w.isdigit()]
    seq = seq[:MAX_QUERY_WORDS]
    query_weight = 0.0
    outside = 0
    evidence: dict[str, dict[str, float]] = {}  # topic -> term -> weight, touched topics only
    covered: dict[str, float] = {}
    resolved: set[str] = set()
    for word in dict.fromkeys([*seq, *index.rules.compounds_in(seq)]):
        if word in index.out_of_scope:
            outside += 1
            continue
        hit = (word, 1.0) if " " in word else _resolve(index, word)
        if hit is None:
            query_weight += th.unknown_weight if len(word) > 2 else th.unknown_weight / 2
            continue
        term, factor = hit
        if term in resolved:
            continue
        resolved.add(term)
        info = index.terms[term]
        query_weight += info.weight
        for topic, topic_factor, coverage in info.shares:
            if topic in evidence:
                evidence[topic][term] = info.weight * factor * topic_factor
                covered[topic] += coverage
            else:
                evidence[topic] = {term: info.weight * factor * topic_factor}
                covered[topic] = coverage
    penalty = th.out_of_scope_penalty**outside
    scored = []
    for topic in index.topic_ids:  # a topic no word touched scores 0 and is no candidate
        if topic not in evidence:
            continue
        strength = sum(evidence[topic].values())
        coverage = min(1.0, covered[topic] / query_weight) if query_weight else 0.0
        confidence = 1.0 - math.exp(-strength / th.evidence_scale)
        scored.append((round(100.0 * coverage**th.coverage_power * confidence * penalty, 1), topic))
    scored.sort(key=lambda item: -item[0])
    cands = tuple(Candidate(t, s) for s, t in scored[:5] if s > 0)  # best first: zeros last
    return _decide(index, cands, evidence)


def _decide(
    index: Index, cands: tuple[Candidate, ...], evidence: dict[str, dict[str, float]]
) -> Match:
    th = index.thresholds
    if not cands or cands[0].score < th.clarify:
        return Match("fallback", None, cands[0].score if cands else 0.0, cands)
    best = cands[0]
    second = cands[1].score if len(cands) > 1 else 0.0
    weights = evidence[best.intent]
    terms = tuple(sorted(weights, key=lambda t: -weights[t]))[:4]
    if best.score >= th.answer and best.score - second >= th.margin:
        return Match("answer", best.intent, best.score, cands, matched=terms)
    close = tuple(c for c in cands if best.score - c.score < th.margin)[: th.max_candidates]
    return Match("clarify", None, best.score, close, matched=terms)
