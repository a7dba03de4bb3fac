"""From text to matching terms: stop words out, synonyms (also multi-word ones) collapsed,
author-chosen multi-word keywords ("stack trace", "full sync") recognised as one term."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from intents.text import content_words, tokens

MAX_PHRASE = 5


@dataclass(frozen=True)
class TermRules:
    synonyms: Mapping[str, str]  # single word -> canonical word
    phrase_synonyms: Mapping[tuple[str, ...], str]  # word sequence -> canonical word
    compounds: frozenset[tuple[str, ...]]  # word sequences that form one term
    # The first words of the above: only where one stands is a sequence worth looking up.
    phrase_starts: frozenset[str] = field(init=False)
    compound_starts: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "phrase_starts", frozenset(p[0] for p in self.phrase_synonyms))
        object.__setattr__(self, "compound_starts", frozenset(c[0] for c in self.compounds))

    @classmethod
    def build(cls, synonyms: Mapping[str, str], compounds: list[str]) -> TermRules:
        single = {w: c for w, c in synonyms.items() if " " not in w}
        phrases = {tuple(w.split()): c for w, c in synonyms.items() if " " in w}
        rules = cls(single, phrases, frozenset())
        seqs = frozenset(tuple(seq) for text in compounds if len(seq := rules.words(text)) > 1)
        return cls(single, phrases, seqs)

    def words(self, text: str, negation: bool = False) -> list[str]:
        """Content words with synonyms applied, in order (negated ones dropped if asked)."""
        return self.words_of(tokens(text), negation)

    def words_of(self, words: Sequence[str], negation: bool = False) -> list[str]:
        """``words`` of text already split by ``tokens``."""
        raw = content_words(words, negation)
        out: list[str] = []
        i = 0
        while i < len(raw):
            starts = raw[i] in self.phrase_starts
            for size in range(min(MAX_PHRASE, len(raw) - i), 1, -1) if starts else ():
                canonical = self.phrase_synonyms.get(tuple(raw[i : i + size]))
                if canonical is not None:
                    out.append(canonical)
                    i += size
                    break
            else:
                out.append(self.synonyms.get(raw[i], raw[i]))
                i += 1
        return out

    def compounds_in(self, words: list[str]) -> list[str]:
        """Multi-word keywords present as adjacent words, each as one space-joined term."""
        found = []
        for i in range(len(words)):
            if words[i] not in self.compound_starts:
                continue
            for size in range(2, min(MAX_PHRASE, len(words) - i) + 1):
                seq = tuple(words[i : i + size])
                if seq in self.compounds:
                    found.append(" ".join(seq))
        return found
