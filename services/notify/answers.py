"""Recording answers: one statement for any number of them (a batch's, or single answers written
behind, several together a few ms later).

A delivery stays leased until its answer is recorded, so it counts against its subscription's
bound and its subject's next delivery waits until then; the lease outlives the short wait by far.
Should the process die first, an unrecorded answer means one resend once the lease has run out,
which the receiver recognises by its webhook-id: at least once, nothing lost. An answer whose
delivery is no longer pending (its subscription ended meanwhile) is logged, its row left alone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.notify import hearing, store
from services.notify.domain import AttemptResult, Decision
from wijkbus.logging import get_logger

log = get_logger(__name__)

_RECORD = (
    "WITH u AS (SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::int[], $4::text[],"
    "  $5::text[], $6::timestamptz[], $7::timestamptz[], $8::int[], $9::int[], $10::text[])"
    "  AS u(id, subscription_id, attempt, status, reason, next_at, at, code, latency, error)),"
    " logged AS (INSERT INTO delivery_attempts (delivery_id, subscription_id, attempt,"
    "  status_code, latency_ms, error, at)"
    "  SELECT id, subscription_id, attempt, code, latency, error, at FROM u)"
    " UPDATE deliveries d SET status = u.status, attempts = u.attempt, last_error = u.reason,"
    " next_attempt_at = coalesce(u.next_at, d.next_attempt_at), lease_until = NULL,"
    " finished_at = CASE WHEN u.status = 'pending' THEN NULL ELSE u.at END"
    " FROM u WHERE d.id = u.id AND d.status = 'pending'"
)


@dataclass(frozen=True)
class Answer:
    """One attempt at a delivery and what follows from it."""

    delivery: store.DueDelivery
    result: AttemptResult
    decision: Decision
    at: datetime


async def record(conn: asyncpg.Connection, answers: list[Answer]) -> None:
    """Record one send's answers (a delivery, or a batch's); a 'gone' ends the subscription in
    the same transaction."""
    gone = [a for a in answers if a.decision.verdict == "gone"]
    if not gone:
        await record_answers(conn, answers)  # one statement: atomic on its own
        return
    async with conn.transaction():
        await hearing.changing(conn)  # first: a fan-out may wait for these deliveries' rows
        await record_answers(conn, answers)
        first = gone[0]
        reason = first.decision.reason or "410"
        await store.end_subscription(
            conn, first.delivery.subscription_id, "deactivated", reason, first.at
        )


async def record_answers(conn: asyncpg.Connection, answers: list[Answer]) -> None:
    """Log the attempts and move their deliveries on, in one statement (atomic on its own)."""
    status = {"delivered": "delivered", "dead": "dead", "gone": "cancelled"}
    await conn.execute(
        _RECORD,
        [a.delivery.id for a in answers],
        [a.delivery.subscription_id for a in answers],
        [a.delivery.attempts + 1 for a in answers],
        [status.get(a.decision.verdict, "pending") for a in answers],
        [a.decision.reason for a in answers],
        [a.decision.next_attempt_at for a in answers],
        [a.at for a in answers],
        [a.result.status_code for a in answers],
        [a.result.latency_ms for a in answers],
        [a.result.logged_error for a in answers],
    )


class WriteBehind:
    """Collects answers and records them `wait_s` after the first, or at `most` at once;
    `recorded(n)` is told when n answers were recorded (or given up on after a failure)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        recorded: Callable[[int], None],
        wait_s: float = 0.003,
        most: int = 64,
    ) -> None:
        self._pool, self._recorded, self._wait_s, self._most = pool, recorded, wait_s, most
        self._waiting: list[Answer] = []
        self._due = asyncio.Event()
        self._full = asyncio.Event()
        self._closing = False

    def add(self, delivery: store.DueDelivery, r: AttemptResult, d: Decision, at: datetime) -> None:
        """Queue an answer for the next write."""
        self._waiting.append(Answer(delivery, r, d, at))
        self._due.set()
        if len(self._waiting) >= self._most:
            self._full.set()

    async def run(self) -> None:
        """Write what comes in, until `close()`; a write under way is finished first."""
        while not self._closing:
            await self._due.wait()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), self._wait_s)
            await self.flush()

    def close(self) -> None:
        """Make `run()` end after its current write (then `flush` what is left)."""
        self._closing = True
        self._due.set()
        self._full.set()

    async def flush(self) -> None:
        """Record every waiting answer now: in one statement, else one by one."""
        answers, self._waiting = self._waiting, []
        self._due.clear()
        self._full.clear()
        if not answers:
            return
        try:
            async with self._pool.acquire() as conn:
                await record_answers(conn, answers)
        except Exception as exc:
            log.warning("recording answers together failed, one by one", error=repr(exc))
            await self._one_by_one(answers)
        self._recorded(len(answers))

    async def _one_by_one(self, answers: list[Answer]) -> None:
        for a in answers:
            try:
                async with self._pool.acquire() as conn:
                    await record_answers(conn, [a])
            except Exception as exc:  # its lease runs out and it is sent again: nothing lost
                log.warning("answer not recorded", delivery_id=a.delivery.id, error=repr(exc))
