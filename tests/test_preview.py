"""Card previews: every card renders in headless Chromium with the official renderer, within Teams.

One render.js run (one browser) per module renders every preview card plus a few broken cards
that prove the renderer reports what it must: unknown elements, a link without a url, an image
that does not load, a card too wide or too tall.
"""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from intents.load import load_knowledge
from intents.model import LANGS

PREVIEW_PY = Path(__file__).resolve().parents[1] / "tools" / "preview" / "preview.py"
Card = dict[str, Any]


def _load_preview() -> ModuleType:
    spec = importlib.util.spec_from_file_location("preview", PREVIEW_PY)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


preview = _load_preview()


def _card(*body: dict[str, Any]) -> Card:
    return {"type": "AdaptiveCard", "version": "1.5", "body": list(body)}


BROKEN: dict[str, Card] = {
    "broken/unknown-element": _card({"type": "Carousel9", "items": []}),
    "broken/openurl-without-url": _card(
        {"type": "ActionSet", "actions": [{"type": "Action.OpenUrl", "title": "Docs"}]}
    ),
    "broken/image-does-not-load": _card({"type": "Image", "url": "data:image/png;base64,AAAA"}),
    "broken/too-wide": _card(
        {
            "type": "ColumnSet",
            "columns": [
                {"type": "Column", "width": "900px", "items": [{"type": "TextBlock", "text": "x"}]}
            ],
        }
    ),
    "broken/too-tall": _card(
        *({"type": "TextBlock", "text": f"line {n}"} for n in range(150)),
    ),
}


@pytest.fixture(scope="module")
def cards() -> dict[str, Card]:
    found: dict[str, Card] = preview.preview_cards(load_knowledge())
    return found


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("preview")


@pytest.fixture(scope="module")
def results(cards: dict[str, Card], out_dir: Path) -> dict[str, dict[str, Any]]:
    """name -> the renderer's result for that card; one browser renders them all."""
    assert not set(cards) & set(BROKEN)
    report = preview.render_cards({**cards, **BROKEN}, out_dir)
    assert [c["name"] for c in report["cards"]] == [*cards, *BROKEN]
    return {c["name"]: c for c in report["cards"]}


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_every_kind_of_card_is_previewed_in_both_languages(cards: dict[str, Card]) -> None:
    kb = load_knowledge()
    for lang in LANGS:
        for topic in kb.catalog.topics:
            assert f"answer/{topic.id}/{lang}" in cards
        for kind in ("run-status", "clarify", "fallback", "welcome"):
            assert any(n.startswith(f"{kind}/") and n.endswith(f"/{lang}") for n in cards), kind
    assert len({preview.file_name(n) for n in cards}) == len(cards)


def test_every_card_renders_without_errors(
    cards: dict[str, Card], results: dict[str, dict[str, Any]]
) -> None:
    errors = {name: results[name]["errors"] for name in cards if results[name]["errors"]}
    assert errors == {}


def test_every_card_has_its_png(
    cards: dict[str, Card], results: dict[str, dict[str, Any]], out_dir: Path
) -> None:
    for name in cards:
        png = out_dir / results[name]["file"]
        assert png.is_file(), name
        assert png.stat().st_size > 0, name
        # The picture is the whole card: its box, nothing cut off and nothing around it.
        assert png_size(png) == (preview.RENDER_WIDTH_PX, results[name]["height"]), name


def test_every_card_fits_in_teams(
    cards: dict[str, Card], results: dict[str, dict[str, Any]]
) -> None:
    for name in cards:
        assert 0 < results[name]["width"] <= preview.MAX_WIDTH_PX, name
        assert 0 < results[name]["height"] <= preview.MAX_HEIGHT_PX, name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("broken/unknown-element", "UnknownElementType"),
        ("broken/openurl-without-url", "url"),
        ("broken/image-does-not-load", "image: did not load"),
        ("broken/too-wide", "px wide"),
        ("broken/too-tall", "px tall"),
    ],
)
def test_a_broken_card_is_reported(
    results: dict[str, dict[str, Any]], name: str, expected: str
) -> None:
    errors = results[name]["errors"]
    assert any(expected in error for error in errors), errors


def test_the_gallery_shows_every_card_and_the_failures(out_dir: Path) -> None:
    loaded = preview.load_report(out_dir)
    index = preview.write_gallery(loaded, out_dir)
    page = index.read_text(encoding="utf-8")
    for result in loaded["cards"]:
        assert f'src="{result["file"]}"' in page
    assert set(preview.failures(loaded)) == set(BROKEN)
    assert "5 card(s) with errors" in page
