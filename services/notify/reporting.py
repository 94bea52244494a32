"""What notify tells about each attempt: counts per subscription, a log line per failure and a
loud one per dead letter — never an address, a token or a body.

A webhook subscription is labelled by its id (an operator or partner registered it, and there are
few); e-mail and initiator subscriptions, one per resident, are counted per channel only, so
the labels stay few and a resident's subscription id (their link to unsubscribe) stays out.
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter, Histogram

from services.notify import domain, store
from wijkbus.logging import get_logger

log = get_logger(__name__)

DELIVERY_ATTEMPTS = Counter(
    "wijkbus_notify_delivery_attempts_total",
    "Delivery attempts by channel, subscription and verdict",
    ["channel", "subscription", "verdict"],
)
DEAD_DELIVERIES = Counter(
    "wijkbus_notify_dead_letters_total",
    "Deliveries given up on (dead letters), by channel and subscription",
    ["channel", "subscription"],
)
DELIVERY_LATENCY = Histogram(
    "wijkbus_notify_delivery_latency_seconds", "Time a subscriber took to answer a webhook"
)
PER_RESIDENT = frozenset({"email", "initiator"})


def subscription_label(delivery: store.DueDelivery) -> str:
    """The subscription's label: its id for a webhook, the channel for a resident's."""
    if delivery.channel in PER_RESIDENT:
        return delivery.channel
    return str(delivery.subscription_id)


def attempted(
    send: Sequence[store.DueDelivery],
    attempt: int,
    result: domain.AttemptResult,
    decision: domain.Decision,
) -> None:
    """Count an attempt (at one delivery or a batch); log it unless it was delivered."""
    head = send[0]
    labels = (head.channel, subscription_label(head))
    DELIVERY_ATTEMPTS.labels(*labels, decision.verdict).inc()
    DEAD_DELIVERIES.labels(*labels).inc(1 if decision.verdict == "dead" else 0)
    DELIVERY_LATENCY.observe(result.latency_ms / 1000)
    if decision.verdict == "delivered":
        return
    error = _without_address(result.error, head)
    (log.error if decision.verdict == "dead" else log.warning)(
        "dead letter" if decision.verdict == "dead" else "not delivered",
        channel=head.channel,
        subscription_id=labels[1],
        delivery_id=head.id,
        event_type=head.event_type,
        events=len(send),
        attempt=attempt,
        status_code=result.status_code,
        verdict=decision.verdict,
        error=error,
    )


def _without_address(error: str | None, delivery: store.DueDelivery) -> str | None:
    """An SMTP answer may quote the mailbox it refused: never in a log."""
    if error and delivery.email_address:
        return error.replace(delivery.email_address, "<adres>")
    return error
