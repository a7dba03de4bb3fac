"""Reply language: Norwegian locales always, clearly Norwegian text whatever the locale."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from intents.knowledge import Knowledge
from intents.language import choose_language, is_norwegian_locale, looks_norwegian
from intents.load import load_knowledge

LABELS = Path(__file__).parent / "data" / "language.yaml"


@pytest.fixture(scope="module")
def kb() -> Knowledge:
    return load_knowledge()


@pytest.mark.parametrize("locale", ["nb", "nb-NO", "no", "nn", "nn-NO", "NB_no", "no-NO"])
def test_norwegian_locales(locale: str) -> None:
    assert is_norwegian_locale(locale)
    assert choose_language("6025", locale) == "nb"


@pytest.mark.parametrize("locale", [None, "", "en-US", "sv-SE", "da-DK", "de", "nob"])
def test_other_locales_reply_in_english_to_neutral_text(locale: str | None) -> None:
    assert choose_language("6025", locale) == "en"


@pytest.mark.parametrize(
    "text",
    ["hei, full synkronisering er treg", "passordsynk funker ikke", "kjøringen stoppet med feil"],
)
def test_clearly_norwegian_text_wins_over_an_english_locale(text: str) -> None:
    assert choose_language(text, "en-US") == "nb"


@pytest.mark.parametrize("text", ["slow full sync", "the run stopped with an error", "6025"])
def test_english_text_stays_english(text: str) -> None:
    assert choose_language(text, "en-US") == "en"


def test_language_of_the_development_set(kb: Knowledge) -> None:
    labels = yaml.safe_load(LABELS.read_text(encoding="utf-8"))
    nb = [looks_norwegian(t, kb.lang_hints) for t in labels["nb"]]
    en = [not looks_norwegian(t, kb.lang_hints) for t in labels["en"]]
    # Short fragments ("god morgen", "tempdb autogrowth innstilling") are genuinely ambiguous;
    # English must almost never be answered in Norwegian.
    assert sum(nb) / len(nb) >= 0.85
    assert sum(en) / len(en) >= 0.97
