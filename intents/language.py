"""Choose the reply language from the user's locale and, failing that, from the text itself."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from intents.model import LANGS, Catalog, Lang
from intents.text import fold, tokens

NORWEGIAN_LOCALES = ("nb", "no", "nn")
SCAN_CHARS = 500

# Frequent Norwegian function words and chat words that English text does not contain.
_NB_MARKERS = frozenset(
    fold(w)
    for w in """
    og er ikke jeg hva hvordan hvorfor hvor når kan skal vil har ble blir det den som med på av
    fra til etter feil treg tregt trege henger kjøring kjøringen synkronisering synkroniseringen
    synk passord passordet hei hjelp takk funker fungerer virker stoppet stopper mislykket
    hendelse hendelsesloggen logg loggen meldingen får fikk noen mye lenge tar timer bruker
    oppdatering versjon nyeste siste tjenesten kobling koblingen koblinger domenekontroller
    eksport opprettelse opprette klarer ingen hele alltid plutselig vi oss du dere
    ikkje etter denne dette disse mot under over uten fortsatt egentlig nå""".split()
)
_EN_MARKERS = frozenset(
    """the is are not what how why when with from after error slow hangs stopped failed
    password event does doesnt don't can't cannot my our we this that run running and of to
    in on it for was were have has been be there which where fails after still""".split()
)


def language_hints(catalog: Catalog) -> dict[str, Lang]:
    """Words the content uses in one language only: evidence for that language in a message."""
    seen: dict[Lang, set[str]] = {lang: set() for lang in LANGS}
    for topic in catalog.topics:
        for lang in LANGS:
            texts: Iterable[str] = (
                topic.title.get(lang),
                topic.symptom.get(lang),
                *topic.steps[lang],
                *topic.match.phrases[lang],
            )
            for text in texts:
                seen[lang].update(w for w in tokens(text) if w.isalpha() and len(w) > 2)
    hints: dict[str, Lang] = {w: "nb" for w in seen["nb"] - seen["en"]}
    hints.update({w: "en" for w in seen["en"] - seen["nb"]})
    return hints


def is_norwegian_locale(locale: str | None) -> bool:
    if not locale:
        return False
    primary = locale.replace("_", "-").split("-")[0].lower()
    return primary in NORWEGIAN_LOCALES


def looks_norwegian(
    text: str, hints: Mapping[str, Lang] | None = None, words: Sequence[str] | None = None
) -> bool:
    """True when the text is clearly Norwegian: more Norwegian than English evidence.

    ``words``, when given, must be ``tokens`` of the first SCAN_CHARS characters of ``text``
    (a caller that already has them saves splitting the text again).
    """
    head = text[:SCAN_CHARS]
    nb = en = 0
    for word in tokens(head) if words is None else words:
        if word in _NB_MARKERS:
            nb += 2
        elif word in _EN_MARKERS:
            en += 2
        elif hints is not None and word in hints:
            if hints[word] == "nb":
                nb += 1
            else:
                en += 1
    if not head.isascii() and any(ch in head for ch in "æøåÆØÅ"):
        nb += 2
    return nb >= 2 and nb > en


def choose_language(
    text: str,
    locale: str | None,
    hints: Mapping[str, Lang] | None = None,
    words: Sequence[str] | None = None,
) -> Lang:
    """``words``: as for ``looks_norwegian``."""
    if is_norwegian_locale(locale) or looks_norwegian(text, hints, words):
        return "nb"
    return "en"
