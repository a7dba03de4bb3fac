"""Cards on their way out: one message shape for every card the bot sends.

A card from ``intents.cards`` is plain JSON, built fresh for one reply and never changed after
it is built. ``SentCard`` says so to the SDK: the deep copy ``TurnContext.send_activities``
makes of every outgoing activity shares it instead of copying it node by node, and the
serializer patch in ``bot/patches.py`` passes it through instead of walking it. For a ~5 KB
answer card that was ~0.1 ms of copying per reply, paid on every turn. ``SentAttachment``
does the same for the attachment around it (~30 us of msrest copying and serializing).
"""

from __future__ import annotations

import copy
from typing import Any

from botbuilder.core import CardFactory, MessageFactory
from botbuilder.schema import Activity, Attachment

from intents.cards import Card

_IMMUTABLE = (str, int, float, bool, type(None))
ADAPTIVE_CARD: str = CardFactory.content_types.adaptive_card


class SentCard(dict[str, Any]):
    """A finished card: plain JSON (str keys, lists, scalars), never modified once sent."""

    __slots__ = ()

    def __deepcopy__(self, memo: dict[int, Any]) -> SentCard:
        return self


class SentAttachment(Attachment):  # type: ignore[misc]
    """An attachment whose deep copy shares what cannot change: strings and a ``SentCard``."""

    def __deepcopy__(self, memo: dict[int, Any]) -> SentAttachment:
        clone: SentAttachment = SentAttachment.__new__(SentAttachment)
        memo[id(self)] = clone
        clone.__dict__.update(
            (name, value if isinstance(value, _SHARED) else copy.deepcopy(value, memo))
            for name, value in vars(self).items()
        )
        return clone

    def wire(self) -> dict[str, Any] | None:
        """The JSON msrest would make of it, when that is just the content type and the card
        (the only shape ``card_message`` makes); None for anything else."""
        fields = vars(self)
        card, kind = fields.get("content"), fields.get("content_type")
        if type(card) is not SentCard or type(kind) is not str or fields["additional_properties"]:
            return None
        if any(v is not None for k, v in fields.items() if k not in _WIRE_FIELDS):
            return None
        return {"contentType": kind, "content": card}


_SHARED = (*_IMMUTABLE, SentCard)
_WIRE_FIELDS = frozenset({"content", "content_type", "additional_properties"})


def card_message(card: Card) -> Activity:
    """A message activity carrying ``card`` as its one Adaptive Card attachment."""
    attachment = SentAttachment(content_type=ADAPTIVE_CARD, content=SentCard(card))
    return MessageFactory.attachment(attachment)
