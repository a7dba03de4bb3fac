"""Text normalisation shared by index and queries: casefold, fold æøå, bound, tokenise."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

# Matching looks at the start of a message only; a pasted log can be megabytes long.
MAX_QUERY_CHARS = 2000

_FOLD = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "ä": "a", "ö": "o", "ü": "u", "ß": "ss"})
# Keep letters, digits and the characters codes are made of ('-' in status strings, '.' in builds).
_TOKEN = re.compile(r"[a-z0-9](?:[a-z0-9\-.]*[a-z0-9])?")
_VERSION = re.compile(r"^\d+(?:\.\d+)+$")
_PARTS = re.compile(r"[\-.]+")
_MENTION = re.compile(r"<at>.*?</at>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]{0,200}>")

STOPWORDS = frozenset(
    """
    a an the and or but if of to in on at by for with from as is are was were be been being it its
    this that these those there here i me my we our you your he she they them his her their what
    which who whom how why when where do does did doing done have has had can could should would
    will shall may might must not no yes so than then too very just also only about into over
    after before again any all some such get gets got getting please hi hello hey thanks thank
    because since while though although whether unless until
    og eller men at av til i pa på med for fra som er var vaere være blir ble det den de dette
    disse der her jeg meg min mitt mine vi oss du deg dere han hun hva hvilken hvilke hvem hvordan
    hvorfor nar når hvor gjor gjør gjorde har hadde kan kunne skal skulle vil ville ikke
    ja nei sa så enn ogsa også bare om etter for inn ut opp hei takk noe noen alle en et ei hele
    fordi siden mens selv enda likevel egentlig altsa altså jo vel
    """.split()
)


def clean(text: str, limit: int = MAX_QUERY_CHARS) -> str:
    """Bound, strip Teams mention/HTML markup and control characters; never raises on any str."""
    text = text[:limit]
    text = _MENTION.sub(" ", text)
    text = _TAG.sub(" ", text)
    text = unicodedata.normalize("NFKC", text)
    if text.isprintable():  # nearly every message: nothing to replace
        return text
    return "".join(ch if ch.isprintable() else " " for ch in text)


def fold(text: str) -> str:
    """Casefold and map æ/ø/å (and other accents) to ASCII so 'hoy' and 'høy' meet."""
    if text.isascii():  # most chat text: nothing to decompose
        return text.lower()
    text = text.casefold().translate(_FOLD)
    if text.isascii():  # Norwegian letters only: folded already
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokens(text: str) -> list[str]:
    """Folded word tokens; hyphenated status strings and dotted build numbers stay whole.

    A token is a run of letters, digits, '-' and '.' with the hyphens and dots at its ends
    dropped: from its first letter or digit to its last.
    """
    return _TOKEN.findall(fold(text))


NEGATIONS = frozenset({"not", "ikke", "isn", "aren", "wasn", "never", "aldri"})
NEGATION_SCOPE = 2
# "not the FIM MA" excludes a thing; "could not load" describes the problem and must stay.
NEGATED_NOUN_START = frozenset({"the", "a", "an", "this", "that", "our", "den", "det", "de"})


def content_tokens(text: str, negation: bool = False) -> list[str]:
    """Tokens without stop words; hyphenated codes also contribute their parts.

    With ``negation``, the content words right after "not"/"ikke" are dropped: "the AD MA,
    not the FIM MA" is not about the FIM MA.
    """
    return content_words(tokens(text), negation)


def content_words(words: Sequence[str], negation: bool = False) -> list[str]:
    """``content_tokens`` of text already split by ``tokens``."""
    if not negation or NEGATIONS.isdisjoint(words):
        kept = [token for token in words if token not in STOPWORDS]
        joined = "".join(kept)
        if "-" not in joined and "." not in joined:
            return kept  # nearly every message: no negation, no codes or builds to split
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
        if "-" in token or ("." in token and not _VERSION.match(token)):
            parts = _PARTS.split(token)
            out.extend(p for p in parts if p and p != token and p not in STOPWORDS)
    return out
