"""The loaded knowledge: the validated catalog plus the matcher index built from it."""

from __future__ import annotations

from dataclasses import dataclass

from intents.matcher import Index
from intents.model import Catalog


@dataclass(frozen=True)
class Knowledge:
    """A validated catalog and its index, loaded together and never mutated."""

    catalog: Catalog
    index: Index
