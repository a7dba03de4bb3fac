"""Prometheus metrics in a registry of the app's own (never the process-wide default one).

Label values are bounded: outcomes come from a fixed list (a button's ``action`` is user data,
so an unknown one counts as ``action:other``) and topics are ids from the loaded content.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# A turn includes posting the reply, which may retry a throttled connector for up to ~20 s.
TURN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0)
OPERATIONS = ("send", "update")
NO_TOPIC = "none"


class Metrics:
    """Every metric the bot exposes at /metrics, registered in ``self.registry``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.turns = Counter(
            "mimbot_turns",
            "Message turns handled, by outcome and topic",
            ["outcome", "topic"],
            registry=r,
        )
        self.turn_seconds = Histogram(
            "mimbot_turn_seconds",
            "Time to handle a message turn, reply included",
            buckets=TURN_BUCKETS,
            registry=r,
        )
        self.outbound_failures = Counter(
            "mimbot_outbound_failures",
            "Activities the connector never accepted, after retries, by operation",
            ["operation"],
            registry=r,
        )
        self.tickets_opened = Counter(
            "mimbot_tickets_opened", "Helpdesk tickets created by an escalation", registry=r
        )
        self.content_topics = Gauge(
            "mimbot_content_topics", "Topics in the content being served", registry=r
        )
        self.content_loaded = Gauge(
            "mimbot_content_loaded_timestamp_seconds",
            "Unix time the content being served was loaded",
            registry=r,
        )
        self.reloads = Counter(
            "mimbot_content_reloads",
            "Content reloads by result (ok, failed)",
            ["result"],
            registry=r,
        )
        self.last_reload_ok = Gauge(
            "mimbot_content_last_reload_success",
            "1 when the last content reload succeeded (or none was tried), 0 when refused",
            registry=r,
        )
        for operation in (*OPERATIONS, "other"):
            self.outbound_failures.labels(operation)
        for result in ("ok", "failed"):
            self.reloads.labels(result)
        self.last_reload_ok.set(1)
        self.last_reload = "none"  # "ok" or "refused" once a reload was tried
        # (outcome, topic) -> its counter; bounded, as both labels come from fixed sets.
        self._turn_children: dict[tuple[str, str], Counter] = {}

    def turn(self, outcome: str, topic: str | None, seconds: float) -> None:
        key = (outcome, topic or NO_TOPIC)
        child = self._turn_children.get(key)
        if child is None:  # labels() validates and locks on every call: once per pair is enough
            child = self._turn_children[key] = self.turns.labels(*key)
        child.inc()
        self.turn_seconds.observe(seconds)

    def content(self, topics: int) -> None:
        """Content with ``topics`` topics is now being served."""
        self.content_topics.set(topics)
        self.content_loaded.set(time.time())

    def outbound_failed(self, operation: str) -> None:
        """A send or update the connector refused after every retry."""
        self.outbound_failures.labels(operation if operation in OPERATIONS else "other").inc()

    def reload(self, ok: bool) -> None:
        self.reloads.labels("ok" if ok else "failed").inc()
        self.last_reload_ok.set(1 if ok else 0)
        self.last_reload = "ok" if ok else "refused"
