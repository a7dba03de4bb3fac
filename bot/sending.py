"""Cards on their way out: one message shape for every card the bot sends.

A card from ``intents.cards`` is plain JSON, built fresh for one reply and never changed after
it is built. ``SentCard`` says so to the SDK: the deep copy ``TurnContext.send_activities``
makes of every outgoing activity shares it instead of copying it node by node, and the
serializer patch in ``bot/patches.py`` passes it through instead of walking it. For a ~5 KB
answer card that was ~0.1 ms of copying per reply, paid on every turn.
"""

from __future__ import annotations

from typing import Any

from botbuilder.core import CardFactory, MessageFactory
from botbuilder.schema import Activity

from intents.cards import Card


class SentCard(dict[str, Any]):
    """A finished card: plain JSON (str keys, lists, scalars), never modified once sent."""

    __slots__ = ()

    def __deepcopy__(self, memo: dict[int, Any]) -> SentCard:
        return self


def card_message(card: Card) -> Activity:
    """A message activity carrying ``card`` as its one Adaptive Card attachment."""
    return MessageFactory.attachment(CardFactory.adaptive_card(SentCard(card)))
