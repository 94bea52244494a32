"""How a webhook subscription is delivered: how many at once, and whether in batches."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_IN_FLIGHT = 8
MAX_IN_FLIGHT = 64

IN_FLIGHT = (
    "Webhook only: how many deliveries (or batches) to this subscription may be in flight at"
    " once; default 8. Order is kept per subject (the CloudEvent `subject`: one signal, one"
    " street, one initiative): a delivery is sent only after every earlier delivery of its"
    " subject was answered 2xx or given up, so deliveries of different subjects may arrive in"
    " any order, and a subject in backoff holds up no other subject. Set 1 to receive one"
    " request at a time."
)
BATCH = (
    "Webhook only, opt-in: deliver in CloudEvents' batched content mode, a JSON array of"
    " structured CloudEvents with Content-Type `application/cloudevents-batch+json`. A batch"
    " is sent when `max_events` are waiting, or when the oldest has waited `max_wait_ms`."
    " A 2xx answer delivers every event in the batch; any other answer retries the same batch"
    " (the same events, in the same order, under the same `webhook-id`) with the normal"
    " backoff, then the whole batch is dead; 410 ends the subscription. A batch has a"
    " `webhook-id` of its own (never an event's); the signatures sign the array as sent."
    " Within a batch events keep the order of their subjects; an event waits for the batch"
    " holding an earlier event of its subject."
)


class BatchIn(BaseModel):
    """Batched webhooks: up to `max_events` events in one POST, waiting up to `max_wait_ms`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_events: int = Field(
        ge=1, le=1000, description="The most events one batch (one POST) carries."
    )
    max_wait_ms: int = Field(
        ge=0,
        le=60000,
        description="How long the oldest waiting event may wait for the batch to fill, in"
        " milliseconds; 0 sends whatever is waiting at once.",
    )
