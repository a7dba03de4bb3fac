"""Render an Adaptive Card as readable terminal text, numbering its buttons."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Button:
    title: str
    kind: str  # "submit" or "url"
    data: Any


def render_card(card: dict[str, Any], width: int = 88) -> tuple[str, list[Button]]:
    """The card's text, and its buttons in the order the text numbers them."""
    lines: list[str] = []
    buttons: list[Button] = []
    _walk(card.get("body", []), lines, buttons, width)
    _actions(card.get("actions", []), lines, buttons)
    return "\n".join(lines), buttons


def _walk(items: list[Any], lines: list[str], buttons: list[Button], width: int) -> None:
    for item in items:
        kind = item.get("type")
        if kind == "TextBlock":
            text = str(item.get("text", ""))
            if item.get("weight") == "Bolder" or item.get("size") == "Large":
                text = text.upper() if item.get("size") == "Large" else f"== {text} =="
            lines.extend(textwrap.wrap(text, width, subsequent_indent="   ") or [""])
        elif kind == "Container":
            _walk(item.get("items", []), lines, buttons, width)
        elif kind == "ActionSet":
            _actions(item.get("actions", []), lines, buttons)


def _actions(actions: list[Any], lines: list[str], buttons: list[Button]) -> None:
    for action in actions:
        title = str(action.get("title", ""))
        if action.get("type") == "Action.OpenUrl":
            buttons.append(Button(title, "url", action.get("url")))
            lines.append(f"  [{len(buttons)}] {title} -> {action.get('url')}")
        elif action.get("type") == "Action.Submit":
            buttons.append(Button(title, "submit", action.get("data")))
            lines.append(f"  [{len(buttons)}] {title}")
