"""Activity handling: route button data and commands, match text, send cards, record outcomes."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from botbuilder.core import ActivityHandler, CardFactory, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount, ThumbnailCard
from botbuilder.schema.teams import (
    MessagingExtensionAttachment,
    MessagingExtensionQuery,
    MessagingExtensionResponse,
    MessagingExtensionResult,
)

from bot.events import EventLog
from bot.helpdesk import Helpdesk
from bot.logs import TurnRecord, action_outcome, log_turn
from bot.metrics import Metrics
from bot.sending import card_message
from bot.store.base import StoreUnavailable
from intents.cards import Card, build_card
from intents.commands import parse_command
from intents.knowledge import Knowledge
from intents.language import choose_language
from intents.model import Lang
from intents.replies import (
    Answer,
    Fallback,
    Reply,
    UnknownCode,
    respond_to_action,
    respond_with_match,
    unsupported,
    welcome,
)
from intents.search import search_answers
from intents.text import MAX_QUERY_CHARS, clean
from intents.ticket_cards import info_card
from intents.tickets import TICKET_ACTIONS

log = logging.getLogger(__name__)
UNANSWERED_KEEP = 200  # characters of an unanswered question kept for content authors


def message_text(activity: Activity, limit: int = MAX_QUERY_CHARS) -> str:
    """The start of the user's words: <at>mentions</at> and the spaces around them removed."""
    text = activity.text if isinstance(activity.text, str) else ""
    return clean(text, limit).strip()


class MimBot(TeamsActivityHandler):  # type: ignore[misc]
    """One bot for personal chats, group chats, channels, the message extension and the
    Emulator."""

    def __init__(
        self,
        knowledge: Callable[[], Knowledge],
        helpdesk: Helpdesk,
        metrics: Metrics | None = None,
        events: EventLog | None = None,
    ) -> None:
        self._knowledge = knowledge
        self.helpdesk = helpdesk
        self.metrics = metrics or Metrics()
        self.events = events or EventLog(helpdesk.store)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        started = time.perf_counter()
        value = activity.value
        if _needs_mention(activity) and not _mentions_me(activity):
            # Channels and group chats: speak only when spoken to (Teams already filters
            # channels; this keeps group chats and other clients to the same rule).
            return
        turn = TurnRecord()
        try:
            if isinstance(value, Mapping) and "action" in value:
                turn.outcome = action_outcome(value.get("action"))
                await self._guarded(
                    turn_context, turn, lambda: self._on_action(turn_context, value, turn)
                )
            else:
                await self._guarded(turn_context, turn, lambda: self._on_text(turn_context, turn))
        except BaseException:
            turn.outcome = "error"  # the adapter's turn error handler logs it and apologises
            raise
        finally:
            seconds = time.perf_counter() - started
            conversation = activity.conversation.id if activity.conversation else None
            self.metrics.turn(turn.outcome, turn.intent, seconds)
            log_turn(activity.id, conversation, turn, seconds)

    async def _guarded(
        self, ctx: TurnContext, turn: TurnRecord, work: Callable[[], Awaitable[None]]
    ) -> None:
        try:
            await work()
        except StoreUnavailable as exc:
            turn.outcome = "store_unavailable"
            log.warning("store unavailable activity=%s: %s", ctx.activity.id, exc)
            lang = choose_language("", ctx.activity.locale)
            card = info_card(self._knowledge().catalog, "store_unavailable", lang)
            await ctx.send_activity(card_message(card))

    async def _on_action(
        self, ctx: TurnContext, value: Mapping[str, Any], turn: TurnRecord
    ) -> None:
        kb = self._knowledge()
        action = value.get("action")
        lang: Lang = "nb" if value.get("lang") == "nb" else choose_language("", ctx.activity.locale)
        intent = value.get("intent")
        if isinstance(intent, str) and kb.catalog.topic(intent) is not None:
            turn.intent = intent  # only a real topic id: button data is user input
        if action in TICKET_ACTIONS:
            card = await self.helpdesk.act(ctx, value, lang)
            if card is not None:
                await ctx.send_activity(card_message(card))
            return
        if action == "escalate":
            # Storing and posting to the helpdesk takes a moment: show that something happens.
            await ctx.send_activity(Activity(type=ActivityTypes.typing))
            await ctx.send_activity(card_message(await self.helpdesk.escalate(ctx, value, lang)))
            return
        reply = respond_to_action(kb, value, ctx.activity.locale)
        if isinstance(reply, Answer):
            turn.intent = reply.topic.id
        await ctx.send_activity(card_message(build_card(reply, kb.catalog)))
        if action == "feedback" and isinstance(value.get("helpful"), bool):
            topic = value.get("intent") if isinstance(value.get("intent"), str) else None
            await self._record(
                "feedback", {"topic": topic, "helpful": value["helpful"], "lang": lang}
            )
        await self._record_reply(reply)

    async def _on_text(self, ctx: TurnContext, turn: TurnRecord) -> None:
        kb = self._knowledge()
        text = message_text(ctx.activity, self.helpdesk.settings.max_text_chars)
        turn.text = text
        locale = ctx.activity.locale
        command = parse_command(text) if text else None
        if command is not None:
            name, norwegian = command
            turn.outcome = f"command:{name}"
            lang: Lang = "nb" if norwegian else choose_language(text, locale, kb.lang_hints)
            await ctx.send_activity(card_message(await self._command(ctx, name, lang)))
            return
        reply, found = respond_with_match(kb, text, locale) if text else (unsupported(locale), None)
        turn.replied(reply, found)
        await ctx.send_activity(card_message(build_card(reply, kb.catalog)))
        await self._record_reply(reply)

    async def _command(self, ctx: TurnContext, name: str, lang: Lang) -> Card:
        if name == "set_helpdesk":
            return await self.helpdesk.set_here(ctx, lang)
        if name == "unset_helpdesk":
            return await self.helpdesk.unset_here(ctx, lang)
        if name == "stats":
            return await self.helpdesk.stats(ctx, lang)
        return await self.helpdesk.show(lang)

    async def _record_reply(self, reply: Reply) -> None:
        if isinstance(reply, Answer):
            entity = reply.code.code if reply.code else None
            await self._record(
                "answer", {"topic": reply.topic.id, "code": entity, "lang": reply.lang}
            )
        elif isinstance(reply, Fallback | UnknownCode):
            text = reply.question[:UNANSWERED_KEEP]
            await self._record("unanswered", {"text": text, "lang": reply.lang})

    async def _record(self, kind: str, record: dict[str, Any]) -> None:
        # Statistics must never cost the user an answer (or its latency): written beside it.
        self.events.record(kind, record)

    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        # The Teams handler looks every added member up at the connector (one HTTP call each)
        # only to hand us the same ids; the plain handler is enough for a welcome card.
        await ActivityHandler.on_conversation_update_activity(self, turn_context)

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
            kb = self._knowledge()
            card = build_card(welcome(kb, activity.locale), kb.catalog)
            await turn_context.send_activity(card_message(card))

    async def on_teams_messaging_extension_query(
        self, turn_context: TurnContext, query: MessagingExtensionQuery
    ) -> MessagingExtensionResponse:
        """The search command: a symptom typed in the compose box, troubleshooting cards back."""
        kb = self._knowledge()
        text = ""
        # An invoke without a value deserialises to None: treat it as an empty search.
        for parameter in getattr(query, "parameters", None) or []:
            if getattr(parameter, "name", None) == "query" and isinstance(parameter.value, str):
                text = parameter.value
        results = []
        for answer in search_answers(kb, text, turn_context.activity.locale):
            card = build_card(answer, kb.catalog, interactive=False)
            preview = CardFactory.thumbnail_card(
                ThumbnailCard(
                    title=answer.topic.title.get(answer.lang),
                    text=answer.topic.symptom.get(answer.lang),
                )
            )
            results.append(
                MessagingExtensionAttachment(
                    content_type=CardFactory.content_types.adaptive_card,
                    content=card,
                    preview=preview,
                )
            )
        result = MessagingExtensionResult(
            type="result", attachment_layout="list", attachments=results
        )
        return MessagingExtensionResponse(compose_extension=result)


def _needs_mention(activity: Activity) -> bool:
    return _conversation_type(activity) in ("channel", "groupChat") and not activity.value


def _mentions_me(activity: Activity) -> bool:
    me = activity.recipient.id if activity.recipient else None
    for entity in activity.entities or []:
        props = getattr(entity, "additional_properties", None)
        mentioned = props.get("mentioned") if isinstance(props, dict) else None
        if not isinstance(mentioned, dict):
            continue  # a malformed mention mentions nobody
        if getattr(entity, "type", None) == "mention" and mentioned.get("id") == me:
            return True
    return False


def _conversation_type(activity: Activity) -> str | None:
    conversation: Any = activity.conversation
    return getattr(conversation, "conversation_type", None) if conversation else None
