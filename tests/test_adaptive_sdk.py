"""Prove tests/adaptive_sdk.py accepts a good Adaptive Card and reports bad ones."""

from __future__ import annotations

import copy
from pathlib import Path

import adaptive_sdk
import pytest
from adaptive_sdk import validate_cards

VALID_CARD: dict[str, object] = {
    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
    "type": "AdaptiveCard",
    "version": "1.5",
    "body": [
        {"type": "TextBlock", "text": "Sync status", "size": "large", "wrap": True},
        {
            "type": "Container",
            "id": "details",
            "items": [
                {
                    "type": "FactSet",
                    "facts": [{"title": "Connector", "value": "AD MA"}],
                },
                {
                    "type": "ActionSet",
                    "actions": [{"type": "Action.Submit", "title": "Rerun", "data": {"op": "run"}}],
                },
            ],
        },
    ],
    "actions": [
        {"type": "Action.Submit", "title": "Thanks", "data": {"op": "ack"}},
        {"type": "Action.OpenUrl", "title": "Docs", "url": "https://learn.microsoft.com/"},
    ],
}


def _variant(**changes: object) -> dict[str, object]:
    card = copy.deepcopy(VALID_CARD)
    card.update(changes)
    return card


def _body(*elements: dict[str, object]) -> dict[str, object]:
    return _variant(body=list(elements))


# name -> (card, a substring that one of its problems must contain)
BAD_CARDS: dict[str, tuple[dict[str, object], str]] = {
    "unknown element type": (_body({"type": "TextBlok", "text": "x"}), "TextBlok"),
    "OpenUrl without url": (
        _variant(actions=[{"type": "Action.OpenUrl", "title": "Docs"}]),
        '"url" must be set',
    ),
    "bad enum value": (_body({"type": "TextBlock", "text": "x", "size": "huge"}), "huge"),
    "duplicate ids": (
        _body(
            {"type": "TextBlock", "text": "a", "id": "t"},
            {"type": "TextBlock", "text": "b", "id": "t"},
        ),
        "Duplicate Id",
    ),
    "version 1.6": (_variant(version="1.6"), "above 1.5"),
    "TextBlock without text": (_body({"type": "TextBlock", "wrap": True}), "has no text"),
    "Image without url": (_body({"type": "Image", "altText": "logo"}), "has no url"),
}


@pytest.fixture(scope="module")
def results() -> dict[str, list[str]]:
    """Validate every case in one node run."""
    names = ["valid", *BAD_CARDS]
    cards = [VALID_CARD, *(card for card, _ in BAD_CARDS.values())]
    return dict(zip(names, validate_cards(cards), strict=True))


def test_valid_card_has_no_problems(results: dict[str, list[str]]) -> None:
    assert results["valid"] == []


@pytest.mark.parametrize("name", list(BAD_CARDS))
def test_bad_card_is_reported(results: dict[str, list[str]], name: str) -> None:
    problems = results[name]
    expected = BAD_CARDS[name][1]
    assert problems, f"{name}: validator reported nothing"
    assert any(expected in p for p in problems), problems
    assert all(p.startswith(("error: ", "warning: ")) for p in problems), problems


def test_missing_node_modules_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(adaptive_sdk, "CARDCHECK_DIR", tmp_path)
    with pytest.raises(RuntimeError, match="make setup"):
        validate_cards([VALID_CARD])
