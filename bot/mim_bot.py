"""Activity handling: route button data, strip mentions, match text, send cards."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from botbuilder.core import ActivityHandler, CardFactory, MessageFactory, TurnContext
from botbuilder.schema import Activity, ChannelAccount

from intents.cards import build_card
from intents.knowledge import Knowledge
from intents.replies import Reply, respond_to_action, respond_to_text, unsupported, welcome
from intents.text import clean

log = logging.getLogger(__name__)


def reply_activity(reply: Reply, kb: Knowledge) -> Activity:
    """Wrap a neutral reply's card into a message activity."""
    card = build_card(reply, kb.catalog)
    return MessageFactory.attachment(CardFactory.adaptive_card(card))


def message_text(activity: Activity) -> str:
    """The user's words: Teams' <at>mentions</at> and the spaces around them removed."""
    return clean(activity.text or "").strip()


class MimBot(ActivityHandler):  # type: ignore[misc]
    """One bot for personal chats, group chats, channels and the Emulator."""

    def __init__(self, knowledge: Callable[[], Knowledge]) -> None:
        self._knowledge = knowledge

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        kb = self._knowledge()
        started = time.perf_counter()
        value = activity.value
        if isinstance(value, Mapping) and "action" in value:
            reply = respond_to_action(kb, value, activity.locale)
            kind = f"action:{value.get('action')}"
        else:
            text = message_text(activity)
            if not text:
                reply = unsupported(activity.locale)
                kind = "empty"
            else:
                reply = respond_to_text(kb, text, activity.locale)
                kind = type(reply).__name__.lower()
        await turn_context.send_activity(reply_activity(reply, kb))
        log.info(
            "turn activity=%s conversation=%s kind=%s intent=%s ms=%.1f",
            activity.id,
            activity.conversation.id if activity.conversation else None,
            kind,
            getattr(getattr(reply, "topic", None), "id", None),
            (time.perf_counter() - started) * 1000,
        )

    async def on_members_added_activity(
        self, members_added: list[ChannelAccount], turn_context: TurnContext
    ) -> None:
        activity = turn_context.activity
        bot_id = activity.recipient.id if activity.recipient else None
        conversation_type = _conversation_type(activity)
        bot_added = any(m.id == bot_id for m in members_added)
        user_added = any(m.id != bot_id for m in members_added)
        # Greet once when the bot joins; in a personal chat (or the Emulator) also when the user
        # arrives, but never once per new member of a team.
        if bot_added or (user_added and conversation_type in (None, "personal")):
            await turn_context.send_activity(
                reply_activity(welcome(self._knowledge(), activity.locale), self._knowledge())
            )


def _conversation_type(activity: Activity) -> str | None:
    conversation: Any = activity.conversation
    return getattr(conversation, "conversation_type", None) if conversation else None
