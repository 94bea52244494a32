"""Prometheus metrics every service exposes at /metrics (labels never carry personal data).

Labels name bounded things only: a service, a consumer or group, a route template (never the
raw path), a status, a partner id, a subscription of a partner's webhook.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
CONSUMER_LAG = Gauge(
    "wijkbus_consumer_lag",
    "Records on the consumer group's topics not yet committed, sampled at scrape",
    ["service", "consumer", "group"],
)
OUTBOX_BACKLOG = Gauge("wijkbus_outbox_backlog", "Outbox messages not yet published", ["service"])
OUTBOX_LAG = Gauge(
    "wijkbus_outbox_lag_seconds",
    "Age of the oldest outbox message not yet published (0: none waits), sampled at scrape",
    ["service"],
)
OUTBOX_PUBLISHED = Counter(
    "wijkbus_outbox_published_total", "Outbox messages published", ["service"]
)
HTTP_REQUESTS = Counter(
    "wijkbus_http_requests_total",
    "HTTP requests by route template and status",
    ["service", "route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "wijkbus_http_request_duration_seconds",
    "Time from a request's start to its response's end, by route template",
    ["service", "route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def consumer_started(service: str, consumer: str) -> None:
    """Export a consumer's counters at 0 from its start, so rates and alerts see it at once."""
    EVENTS_CONSUMED.labels(service, consumer, "handled")
    PROCESSING_ERRORS.labels(service, consumer)
    DEAD_LETTERS.labels(service, consumer)
