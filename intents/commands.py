"""Chat commands for the helpdesk, in English and Norwegian: recognised before any matching."""

from __future__ import annotations

from typing import Literal

from intents.text import clean, fold

Command = Literal["set_helpdesk", "show_helpdesk", "unset_helpdesk", "stats"]
COMMANDS: dict[str, Command] = {
    "set helpdesk": "set_helpdesk",
    "register helpdesk": "set_helpdesk",
    "sett brukerstotte": "set_helpdesk",
    "registrer brukerstotte": "set_helpdesk",
    "show helpdesk": "show_helpdesk",
    "helpdesk": "show_helpdesk",
    "vis brukerstotte": "show_helpdesk",
    "brukerstotte": "show_helpdesk",
    "unset helpdesk": "unset_helpdesk",
    "remove helpdesk": "unset_helpdesk",
    "fjern brukerstotte": "unset_helpdesk",
    "stats": "stats",
    "statistics": "stats",
    "statistikk": "stats",
}
NORWEGIAN = frozenset(k for k in COMMANDS if "brukerstotte" in k or k == "statistikk")


def parse_command(text: str) -> tuple[Command, bool] | None:
    """The command in ``text`` (mention already removed) and whether it was said in Norwegian."""
    words = fold(clean(text)).replace("!", " ").replace(".", " ").split()
    key = " ".join(words)
    if key in COMMANDS:
        return COMMANDS[key], key in NORWEGIAN
    return None
