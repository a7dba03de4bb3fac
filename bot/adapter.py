"""The CloudAdapter, configured from Settings, with a turn error handler users can live with."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from botbuilder.core import MessageFactory, TurnContext
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
    ConfigurationServiceClientCredentialFactory,
)

from bot.credentials import CachingCredentialFactory
from bot.outbound import GiveUp, RetryingCloudAdapter, RetryPolicy
from bot.patches import (
    apply_msrest_patch,
    apply_openid_patch,
    apply_request_body_patch,
    apply_serializer_patch,
)
from bot.settings import Settings
from intents.language import choose_language
from intents.model import Catalog

log = logging.getLogger(__name__)


def create_adapter(
    settings: Settings,
    catalog: Catalog | Callable[[], Catalog],
    on_give_up: GiveUp | None = None,
) -> CloudAdapter:
    """The adapter; ``catalog`` (or a function giving the one being served, so that a content
    reload also reaches the apology for a failed turn) supplies the turn error text."""
    current = catalog if callable(catalog) else (lambda: catalog)
    apply_msrest_patch()
    apply_openid_patch()
    apply_request_body_patch()
    apply_serializer_patch()
    config = settings.sdk_config()
    # One credentials object (and outbound token) per app id instead of one per turn.
    auth = ConfigurationBotFrameworkAuthentication(
        config,
        credentials_factory=CachingCredentialFactory(
            ConfigurationServiceClientCredentialFactory(config)
        ),
    )
    policy = RetryPolicy(budget_s=settings.retry_budget_s)
    adapter = RetryingCloudAdapter(auth, policy=policy, on_give_up=on_give_up)

    async def on_turn_error(context: TurnContext, error: Exception) -> None:
        # Users never see a traceback: a fixed apology and a reference the log carries.
        ref = uuid.uuid4().hex[:12]
        activity = context.activity
        log.exception(
            "turn failed ref=%s activity=%s conversation=%s",
            ref,
            activity.id,
            activity.conversation.id if activity.conversation else None,
            exc_info=error,
        )
        lang = choose_language("", activity.locale)
        text = current().text("internal_error", lang).format(ref=ref)
        await context.send_activity(MessageFactory.text(text))

    adapter.on_turn_error = on_turn_error
    return adapter
