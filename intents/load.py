"""Load the content folder into Knowledge, refusing invalid content with every problem listed."""

from __future__ import annotations

from pathlib import Path

from intents.cards import UI_KEYS
from intents.content import load_catalog
from intents.knowledge import Knowledge
from intents.language import language_hints
from intents.matcher import build_index
from intents.replies import HANDLERS
from intents.ticket_cards import TICKET_UI_KEYS

DEFAULT_CONTENT = Path(__file__).resolve().parent.parent / "content"


def load_knowledge(root: Path = DEFAULT_CONTENT) -> Knowledge:
    """Validate ``root`` and build the index; raises ContentError listing every problem."""
    required = UI_KEYS | TICKET_UI_KEYS
    catalog = load_catalog(root, required_ui=required, handlers=frozenset(HANDLERS))
    return Knowledge(catalog, build_index(catalog), language_hints(catalog))
