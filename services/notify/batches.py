"""Batched webhooks: CloudEvents' batched content mode, and a batch's attempt recorded as one.

A batch is a JSON array of the structured CloudEvents (`application/cloudevents-batch+json`),
in delivery order. 2xx delivers every event in it; any other answer retries the batch as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from services.notify import hearing
from services.notify.domain import AttemptResult, Decision
from services.notify.store import DueDelivery, end_subscription

BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"


def batch_body(deliveries: Sequence[DueDelivery]) -> bytes:
    """The array of the batch's events, each as the bytes a single delivery would send."""
    return b"[" + b",".join(d.body for d in deliveries) + b"]"


async def record_batch_attempt(
    conn: asyncpg.Connection,
    deliveries: Sequence[DueDelivery],
    result: AttemptResult,
    decision: Decision,
    at: datetime,
) -> None:
    """Log the attempt for every delivery of the batch and move them all on, atomically."""
    if decision.verdict != "gone":
        # One statement (one round trip, atomic on its own): the log rows and the new states.
        await _record(conn, deliveries, result, decision, at)
        return
    async with conn.transaction():
        await hearing.changing(conn)  # first: a fan-out may wait for these deliveries' rows
        await _record(conn, deliveries, result, decision, at)
        sub = deliveries[0].subscription_id
        await end_subscription(conn, sub, "deactivated", decision.reason or "410", at)


async def _record(
    conn: asyncpg.Connection,
    deliveries: Sequence[DueDelivery],
    result: AttemptResult,
    decision: Decision,
    at: datetime,
) -> None:
    status = {"delivered": "delivered", "dead": "dead", "gone": "cancelled"}.get(
        decision.verdict, "pending"
    )
    await conn.execute(
        "WITH logged AS (INSERT INTO delivery_attempts (delivery_id, subscription_id,"
        " attempt, status_code, latency_ms, error, at) SELECT u.id, $7, u.n, $8, $9, $10, $6"
        " FROM unnest($1::bigint[], $3::int[]) AS u(id, n))"
        " UPDATE deliveries d SET status = $2, attempts = u.n, last_error = $4,"
        " next_attempt_at = coalesce($5, d.next_attempt_at), lease_until = NULL,"
        " finished_at = CASE WHEN $2 = 'pending' THEN NULL ELSE $6::timestamptz END"
        " FROM unnest($1::bigint[], $3::int[]) AS u(id, n) WHERE d.id = u.id",
        [d.id for d in deliveries],
        status,
        [d.attempts + 1 for d in deliveries],
        decision.reason,
        decision.next_attempt_at,
        at,
        deliveries[0].subscription_id,
        result.status_code,
        result.latency_ms,
        result.logged_error,
    )
