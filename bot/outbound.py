"""Replies that survive a throttled or flaky connector: bounded retries honouring Retry-After.

Teams throttles bots with 429 and the connector has bad moments (502/503/504). The SDK gives up
at once (msrest's POST retries do not work with urllib3 2, see the notes), so the adapter below
sends one activity at a time and retries only what is safe to repeat: answers that say "not
accepted" (429, 502, 503, 504). A 500 or a read
timeout may have been delivered, so it is not repeated: better one lost reply than two. A refused
connection is not retried here either: urllib3 already retried it (msrest's connect retries).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ResourceResponse

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRY_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    budget_s: float = 20.0  # never keep a reply (and its turn) pending longer than this
    base_s: float = 0.5
    cap_s: float = 8.0

    def delay(self, attempt: int, status: int | None, retry_after: str | None) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to give up now."""
        if attempt + 1 >= self.attempts:
            return None
        if status is not None and status not in RETRY_STATUSES:
            return None
        told = parse_retry_after(retry_after)
        if told is not None:
            return float(min(told, self.budget_s))
        backoff = min(self.cap_s, self.base_s * 2.0**attempt)
        return backoff * (0.5 + random.random() / 2)  # jitter: replicas don't retry in step


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def failure_of(exc: BaseException) -> tuple[int | None, str | None, bool]:
    """(HTTP status, Retry-After, retry-safe) of a connector error."""
    response: Any = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if isinstance(status, int):
        headers = getattr(response, "headers", None) or {}
        return status, headers.get("Retry-After"), status in RETRY_STATUSES
    # Connection errors and timeouts: urllib3 has already retried connecting, and a read
    # timeout may have been delivered. Either way, not ours to repeat.
    return None, None, False


GiveUp = Callable[[str], None]


async def with_retries(
    what: str,
    activity_id: str | None,
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    on_give_up: GiveUp | None = None,
) -> T:
    started = time.monotonic()
    for attempt in range(policy.attempts):
        try:
            return await call()
        except Exception as exc:
            status, retry_after, safe = failure_of(exc)
            wait = policy.delay(attempt, status, retry_after) if safe else None
            if wait is None or time.monotonic() - started + wait > policy.budget_s:
                log.error(
                    "%s failed for good activity=%s status=%s attempts=%d: %s",
                    what,
                    activity_id,
                    status,
                    attempt + 1,
                    type(exc).__name__,
                )
                if on_give_up is not None:
                    on_give_up(what)
                raise
            log.warning(
                "%s retry activity=%s status=%s wait=%.1fs", what, activity_id, status, wait
            )
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")  # the loop returns or raises


class RetryingCloudAdapter(CloudAdapter):  # type: ignore[misc]
    """CloudAdapter whose sends and updates retry what is safe to retry (see module doc)."""

    def __init__(
        self,
        *args: Any,
        policy: RetryPolicy | None = None,
        on_give_up: GiveUp | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.policy = policy or RetryPolicy()
        self.on_give_up = on_give_up

    async def send_activities(
        self, context: TurnContext, activities: list[Activity]
    ) -> list[ResourceResponse]:
        # One at a time, so a retry never repeats an activity that already went out.
        responses: list[ResourceResponse] = []
        source = context.activity.id if context.activity else None
        send_one = super().send_activities
        for activity in activities:

            async def send(one: Activity = activity) -> list[ResourceResponse]:
                result: list[ResourceResponse] = await send_one(context, [one])
                return result

            sent = await with_retries("send", source, send, self.policy, self.on_give_up)
            responses.extend(sent)
        return responses

    async def update_activity(self, context: TurnContext, activity: Activity) -> Any:
        update = super().update_activity
        return await with_retries(
            "update", activity.id, lambda: update(context, activity), self.policy, self.on_give_up
        )
