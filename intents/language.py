"""Choose the reply language from the user's locale and, failing that, from the text itself."""

from __future__ import annotations

from intents.model import Lang
from intents.text import fold, tokens

NORWEGIAN_LOCALES = ("nb", "no", "nn")

# Frequent Norwegian function words and MIM-chat words that English text does not contain.
_NB_MARKERS = frozenset(
    fold(w)
    for w in """
    og er ikke jeg hva hvordan hvorfor hvor når kan skal vil har ble blir det den som med på av
    fra til etter feil treg tregt trege henger kjøring kjøringen synkronisering synkroniseringen
    synk passord passordet hei hjelp takk funker fungerer virker stoppet stopper mislykket
    hendelse hendelsesloggen logg loggen meldingen får fikk noen mye lenge tar timer bruker
    oppdatering versjon nyeste siste tjenesten kobling koblingen koblinger domenekontroller
    eksport import opprettelse opprette klarer ingen hele alltid plutselig""".split()
)
_EN_MARKERS = frozenset(
    """the is are not what how why when with from after error slow hangs stopped failed
    password event does doesnt don't can't cannot my our we this that run running""".split()
)


def is_norwegian_locale(locale: str | None) -> bool:
    if not locale:
        return False
    primary = locale.replace("_", "-").split("-")[0].lower()
    return primary in NORWEGIAN_LOCALES


def looks_norwegian(text: str) -> bool:
    """True when the text is clearly Norwegian: more Norwegian than English marker words."""
    words = tokens(text[:500])
    nb = sum(1 for w in words if w in _NB_MARKERS)
    en = sum(1 for w in words if w in _EN_MARKERS)
    if any(ch in text[:500] for ch in "æøåÆØÅ"):
        nb += 1
    return nb >= 2 and nb > en


def choose_language(text: str, locale: str | None) -> Lang:
    if is_norwegian_locale(locale) or looks_norwegian(text):
        return "nb"
    return "en"
