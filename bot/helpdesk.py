"""Escalation to a helpdesk channel: registration, tickets, in-place card updates, notices.

The rules live in intents.tickets (pure); this module does the Bot Framework side: conversation
references, new channel threads, updating a sent card, and proactive messages to the asker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ConversationParameters, ConversationReference

from bot.metrics import Metrics
from bot.report import gather_stats
from bot.sending import card_message
from bot.settings import Settings
from bot.store.base import Record, Store, now_iso
from intents.cards import Card
from intents.knowledge import Knowledge
from intents.model import Lang
from intents.stats import stats_card
from intents.ticket_cards import info_card, status_text, ticket_card
from intents.tickets import TICKET_ID, apply_action, new_ticket, ticket_id, with_card

log = logging.getLogger(__name__)
HELPDESK_KEY = "helpdesk"
# Proactive calls need a bot id even when local mode has none (CloudAdapter's legacy path fails).
LOCAL_BOT_ID = "local-mim-bot"


def base_conversation(conversation_id: str) -> str:
    """A Teams channel thread id without its ';messageid=...' suffix: the channel itself."""
    return conversation_id.split(";")[0]


def _channel_data(activity: Activity) -> Mapping[str, Any]:
    data = activity.channel_data
    return data if isinstance(data, Mapping) else {}


def _person(activity: Activity) -> Record:
    who = activity.from_property
    return {
        "id": getattr(who, "id", "") or "",
        "name": getattr(who, "name", "") or "",
        "aad_id": getattr(who, "aad_object_id", "") or "",
    }


class Helpdesk:
    def __init__(
        self,
        store: Store,
        adapter: CloudAdapter,
        settings: Settings,
        knowledge: Callable[[], Knowledge],
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.adapter = adapter
        self.settings = settings
        self.knowledge = knowledge
        self.metrics = metrics or Metrics()
        self.bot_id = settings.app_id or LOCAL_BOT_ID

    # --- registration --------------------------------------------------------------------------

    async def registration(self) -> Record | None:
        if self.settings.helpdesk_channel_id:
            return {
                "channel": "msteams",
                "channel_id": self.settings.helpdesk_channel_id,
                "service_url": self.settings.helpdesk_service_url,
                "tenant_id": self.settings.tenant_id,
                "name": self.settings.helpdesk_channel_id,
                "lang": "en",
                "from_config": True,
            }
        return await self.store.get_setting(HELPDESK_KEY)

    def in_helpdesk(self, activity: Activity, reg: Record | None) -> bool:
        if not reg or not activity.conversation:
            return False
        here = base_conversation(activity.conversation.id or "")
        channel = (_channel_data(activity).get("channel") or {}).get("id")
        return reg["channel_id"] in (here, channel)

    async def set_here(self, ctx: TurnContext, lang: Lang) -> Card:
        activity = ctx.activity
        kb = self.knowledge()
        reg = await self.registration()
        if reg and reg.get("from_config"):
            return info_card(kb.catalog, "helpdesk_from_config", lang, name=reg["name"])
        if reg and not self.in_helpdesk(activity, reg):
            return info_card(kb.catalog, "helpdesk_elsewhere", lang, name=reg["name"])
        kind = getattr(activity.conversation, "conversation_type", None)
        if activity.channel_id == "msteams" and kind not in ("channel", "groupChat"):
            return info_card(kb.catalog, "helpdesk_personal", lang)
        data = _channel_data(activity)
        channel = data.get("channel") or {}
        team = data.get("team") or {}
        reference = TurnContext.get_conversation_reference(activity).serialize()
        conversation_id = activity.conversation.id or ""
        name = " / ".join(n for n in (team.get("name"), channel.get("name")) if n)
        registration = {
            "channel": activity.channel_id,
            "channel_id": channel.get("id") or base_conversation(conversation_id),
            "service_url": activity.service_url,
            "tenant_id": (data.get("tenant") or {}).get("id", ""),
            "reference": reference,
            "name": name or base_conversation(conversation_id),
            "lang": lang,
            "registered_by": _person(activity),
            "at": now_iso(),
        }
        await self.store.put_setting(HELPDESK_KEY, registration)
        log.info("helpdesk registered channel=%s", registration["channel_id"])
        return info_card(kb.catalog, "helpdesk_registered", lang)

    async def show(self, lang: Lang) -> Card:
        catalog = self.knowledge().catalog
        reg = await self.registration()
        if not reg:
            return info_card(catalog, "helpdesk_none", lang)
        if reg.get("from_config"):
            return info_card(catalog, "helpdesk_from_config", lang, name=reg["name"])
        by = (reg.get("registered_by") or {}).get("name", "?")
        return info_card(catalog, "helpdesk_show", lang, name=reg["name"], by=by, at=reg["at"])

    async def unset_here(self, ctx: TurnContext, lang: Lang) -> Card:
        catalog = self.knowledge().catalog
        reg = await self.registration()
        if not reg or reg.get("from_config") or not self.in_helpdesk(ctx.activity, reg):
            return info_card(catalog, "not_helpdesk", lang)
        await self.store.put_setting(HELPDESK_KEY, {})
        return info_card(catalog, "helpdesk_unset", lang)

    # --- tickets -------------------------------------------------------------------------------

    async def escalate(self, ctx: TurnContext, value: Mapping[str, Any], lang: Lang) -> Card:
        """Create (once) the ticket for an escalate button, post it, and say what happened."""
        kb = self.knowledge()
        activity = ctx.activity
        asker = _person(activity)
        question = str(value.get("question") or "")
        intent = value.get("intent") if isinstance(value.get("intent"), str) else None
        topic = kb.catalog.topic(intent or "")
        conversation = activity.conversation.id if activity.conversation else ""
        record = new_ticket(
            ticket=ticket_id(asker["id"], conversation, question, intent),
            asker=asker,
            asker_ref=TurnContext.get_conversation_reference(activity).serialize(),
            question=question,
            topic=topic.id if topic else None,
            steps=list(topic.steps[lang]) if topic else [],
            lang=lang,
            now=now_iso(),
        )
        stored, created = await self.store.add_ticket(record)
        if not created:
            status = status_text(stored, kb.catalog, lang)
            return info_card(
                kb.catalog, "already_escalated", lang, ticket=stored["id"], status=status
            )
        await self.store.add_event("escalation", {"ticket": stored["id"], "topic": stored["topic"]})
        self.metrics.tickets_opened.inc()
        log.info("ticket created ticket=%s topic=%s", stored["id"], stored["topic"])
        reg = await self.registration()
        if not reg:
            return info_card(kb.catalog, "escalated_no_helpdesk", lang, ticket=stored["id"])
        await self._post_ticket(ctx, stored, reg)
        return info_card(kb.catalog, "escalated", lang, ticket=stored["id"])

    async def _post_ticket(self, ctx: TurnContext, record: Record, reg: Record) -> None:
        card = ticket_card(record, self.knowledge().catalog, reg.get("lang", "en"))
        posted: dict[str, Any] = {}

        async def remember(turn: TurnContext) -> None:
            posted["reference"] = TurnContext.get_conversation_reference(turn.activity).serialize()
            posted["activity_id"] = turn.activity.id

        if reg.get("channel") == "msteams":
            # A new thread in the channel: create a conversation whose first message is the card.
            params = ConversationParameters(
                is_group=True,
                channel_data={
                    "channel": {"id": reg["channel_id"]},
                    "tenant": {"id": reg["tenant_id"]},
                },
                activity=card_message(card),
                tenant_id=reg.get("tenant_id") or None,
            )
            await self.adapter.create_conversation(
                self.bot_id, remember, params, "msteams", reg["service_url"], None
            )
        else:
            # Emulator or another channel: post into the registered conversation.
            async def send(turn: TurnContext) -> None:
                sent = await turn.send_activity(card_message(card))
                posted["reference"] = reg["reference"]
                posted["activity_id"] = sent.id if sent else None

            reference = ConversationReference().deserialize(reg["reference"])
            await self.adapter.continue_conversation(reference, send, self.bot_id)
        await self.store.update_ticket(record["id"], lambda r: with_card(r, posted))

    async def act(self, ctx: TurnContext, value: Mapping[str, Any], lang: Lang) -> Card | None:
        """assign / resolve / reopen from the ticket card; only the helpdesk may do it.

        Returns a card to reply with, or None when the ticket card itself was updated.
        """
        kb = self.knowledge()
        reg = await self.registration()
        if not self.in_helpdesk(ctx.activity, reg):
            log.info("ticket action refused outside the helpdesk activity=%s", ctx.activity.id)
            return info_card(kb.catalog, "not_helpdesk", lang)
        tid = str(value.get("ticket") or "")
        if not TICKET_ID.fullmatch(tid):
            return info_card(kb.catalog, "ticket_unknown", lang, ticket="?")
        version = value.get("version") if isinstance(value.get("version"), int) else None
        actor = _person(ctx.activity)
        action = str(value.get("action"))
        result = await self.store.update_ticket(
            tid, lambda r: apply_action(r, action, actor, now_iso(), version)
        )
        if result is None:
            return info_card(kb.catalog, "ticket_unknown", lang, ticket=tid)
        record, changed = result
        if not changed:
            status = status_text(record, kb.catalog, lang)
            return info_card(kb.catalog, "ticket_unchanged", lang, ticket=tid, status=status)
        log.info("ticket %s ticket=%s by=%s", action, tid, actor["id"])
        await self._update_card(ctx, record, (reg or {}).get("lang", lang))
        await self._notify_asker(record)
        return None

    async def _update_card(self, ctx: TurnContext, record: Record, lang: Lang) -> None:
        where = record.get("card") or {}
        if not where.get("activity_id"):
            return
        updated = card_message(ticket_card(record, self.knowledge().catalog, lang))
        updated.id = where["activity_id"]
        reference = ConversationReference().deserialize(where["reference"])

        async def update(turn: TurnContext) -> None:
            await turn.update_activity(updated)

        await self.adapter.continue_conversation(reference, update, self.bot_id)

    async def _notify_asker(self, record: Record) -> None:
        kb = self.knowledge()
        lang: Lang = "nb" if record.get("lang") == "nb" else "en"
        status = status_text(record, kb.catalog, lang)
        card = info_card(
            kb.catalog,
            "asker_update",
            lang,
            quote=record["question"],
            ticket=record["id"],
            status=status,
        )
        reference = ConversationReference().deserialize(record["asker_ref"])

        async def send(turn: TurnContext) -> None:
            await turn.send_activity(card_message(card))

        await self.adapter.continue_conversation(reference, send, self.bot_id)

    async def stats(self, ctx: TurnContext, lang: Lang) -> Card:
        kb = self.knowledge()
        if not self.in_helpdesk(ctx.activity, await self.registration()):
            return info_card(kb.catalog, "not_helpdesk", lang)
        return stats_card(await gather_stats(self.store, kb.catalog), kb.catalog, lang)
