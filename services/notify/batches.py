"""Batched webhooks: CloudEvents' batched content mode (a batch's attempt is recorded as one,
by services.notify.answers).

A batch is a JSON array of the structured CloudEvents (`application/cloudevents-batch+json`),
in delivery order. 2xx delivers every event in it; any other answer retries the batch as it was.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.notify.store import DueDelivery

BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"


def batch_body(deliveries: Sequence[DueDelivery]) -> bytes:
    """The array of the batch's events, each as the bytes a single delivery would send."""
    return b"[" + b",".join(d.body for d in deliveries) + b"]"
