"""Prometheus metrics every service exposes at /metrics (labels never carry personal data)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

EVENTS_CONSUMED = Counter(
    "wijkbus_events_consumed_total",
    "Messages consumed, by outcome",
    ["service", "consumer", "outcome"],
)
PROCESSING_ERRORS = Counter(
    "wijkbus_processing_errors_total",
    "Failed attempts to handle a message",
    ["service", "consumer"],
)
DEAD_LETTERS = Counter(
    "wijkbus_dead_letters_total", "Messages set aside as dead letters", ["service", "consumer"]
)
OUTBOX_BACKLOG = Gauge("wijkbus_outbox_backlog", "Outbox messages not yet published", ["service"])
OUTBOX_PUBLISHED = Counter(
    "wijkbus_outbox_published_total", "Outbox messages published", ["service"]
)
HTTP_REQUESTS = Counter(
    "wijkbus_http_requests_total",
    "HTTP requests by route and status",
    ["service", "route", "status"],
)
