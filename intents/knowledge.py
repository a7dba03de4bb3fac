"""The loaded knowledge: the validated catalog plus the matcher index built from it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from intents.matcher import Index
from intents.model import Catalog, Lang


@dataclass(frozen=True)
class Knowledge:
    """A validated catalog and its index, loaded together and never mutated."""

    catalog: Catalog
    index: Index
    lang_hints: Mapping[str, Lang] = field(default_factory=dict)
