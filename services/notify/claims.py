"""Claiming due deliveries: per subject in order, bounded per subscription, shared by instances.

A delivery may be sent when it is due and no earlier pending delivery of its subscription has
the same subject. A claim leases what it takes (`lease_until`), so another notify instance
skips it; the subscription rows are locked `FOR NO KEY UPDATE SKIP LOCKED` for the claim's
short transaction, so two instances never claim for one subscription at once and its bound of
deliveries in flight holds across them. A lease that runs out (its instance died) frees the
delivery for anyone.

A worker alone on a subscription (no other worker holds its leases) may lease `ahead` more than
its max_in_flight: it keeps them queued and sends at most max_in_flight at once
(services.notify.worker). Once another worker holds leases of it, a claim keeps all leases of
that subscription within max_in_flight, so together they never send more than that at once.

A batched subscription gets up to its `max_in_flight` batches at a time: a batch is retried as
it was (its `batch_id`), and a new one takes only deliveries whose subject has nothing earlier
waiting in another batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from services.notify.store import DueDelivery

# The body: inline for deliveries queued before migration 0011, else the shared one.
_SENT = (
    "d.id, d.subscription_id, d.event_id, coalesce(d.body, (SELECT b.body FROM delivery_bodies b"
    " WHERE b.id = d.body_id)) AS body, d.attempts, d.next_attempt_at, s.channel,"
    " s.callback_url, s.email_address, s.authorization_enc, s.signing_secret_enc,"
    " d.event_type, s.content_mode, d.batch_id, s.max_in_flight"
)
# Checked again on the row as it is when the claim updates it: a claim whose snapshot predates
# another instance's committed claim or answer must not take that delivery a second time.
_FREE = "d.status = 'pending' AND (d.lease_until IS NULL OR d.lease_until <= $1)"
# Singles are taken soonest due first (any order is safe: each is the head of its subject)
# through deliveries_due, which holds only pending rows: ordered by id, the planner may walk
# the primary key through every delivered row before the first pending one.
# The head of its subject: the first pending delivery of its subject is itself. As a row
# comparison in the order of deliveries_subject_pending no other index can serve it: as a NOT
# EXISTS, with a burst's stale statistics (pending looks rare), the planner walked the
# subscription's due deliveries once per candidate (111 ms a claim at 20,000 pending).
_HEAD = (
    "d.id = (SELECT e.id FROM deliveries e WHERE e.status = 'pending'"
    " AND (e.subscription_id, e.subject, e.id) >= (d.subscription_id, d.subject, 0::bigint)"
    " ORDER BY e.subscription_id, e.subject, e.id LIMIT 1)"
)
# A subscription with anything pending: its first pending delivery, one probe of
# deliveries_pending each (the row comparison in its order: no other index serves it). As a
# plain EXISTS the planner read every pending delivery (a semi-join) or walked the delivered ones
# (a first-row seq scan); ordered by next_attempt_at, with stale statistics, it sometimes sorted
# them all.
_ANY_PENDING = (
    "(SELECT w.subscription_id FROM deliveries w WHERE w.status = 'pending'"
    " AND (w.subscription_id, w.id) >= (s.id, 0::bigint)"
    " ORDER BY w.subscription_id, w.id LIMIT 1) = s.id"
)
_SINGLES = (
    "WITH subs AS (SELECT s.id, s.max_in_flight FROM subscriptions s"
    "  WHERE s.status = 'active' AND s.batch_max_events IS NULL AND " + _ANY_PENDING + ""
    "  FOR NO KEY UPDATE OF s SKIP LOCKED),"
    " picked AS (SELECT c.id FROM subs s"
    "  CROSS JOIN LATERAL (SELECT count(*) AS n,"
    "   count(*) FILTER (WHERE l.leased_by IS DISTINCT FROM $4) AS others"
    "   FROM deliveries l WHERE l.subscription_id = s.id"
    "   AND l.status = 'pending' AND l.lease_until IS NOT NULL AND l.lease_until > $1) busy"
    "  CROSS JOIN LATERAL (SELECT d.id FROM deliveries d WHERE d.subscription_id = s.id"
    "   AND d.status = 'pending' AND d.next_attempt_at <= $1"
    "   AND (d.lease_until IS NULL OR d.lease_until <= $1) AND " + _HEAD + ""
    "   ORDER BY d.next_attempt_at, d.id LIMIT greatest(s.max_in_flight"
    "    + CASE WHEN busy.others = 0 THEN $5 ELSE 0 END - busy.n, 0)) c"
    "  ORDER BY c.id LIMIT $3)"
    " UPDATE deliveries d SET lease_until = $2, leased_by = $4 FROM subscriptions s"
    " WHERE d.id = ANY(ARRAY(SELECT id FROM picked)) AND s.id = d.subscription_id AND "
    + _FREE
    + " RETURNING "
    + _SENT
)
_BATCHED = (
    "SELECT s.id, s.max_in_flight, s.batch_max_events, s.batch_max_wait_ms,"
    " (SELECT count(DISTINCT l.batch_id) FROM deliveries l WHERE l.subscription_id = s.id"
    "  AND l.status = 'pending' AND l.lease_until IS NOT NULL AND l.lease_until > $1) AS busy"
    " FROM subscriptions s WHERE s.status = 'active' AND s.batch_max_events IS NOT NULL"
    " AND " + _ANY_PENDING + " FOR NO KEY UPDATE OF s SKIP LOCKED"
)
_RETRY = (
    "SELECT d.batch_id FROM deliveries d WHERE d.subscription_id = $1 AND d.status = 'pending'"
    " AND d.batch_id IS NOT NULL AND d.next_attempt_at <= $2"
    " AND (d.lease_until IS NULL OR d.lease_until <= $2) ORDER BY d.id LIMIT 1"
)
# A new batch: unbatched due deliveries, in order, whose subject waits for nothing earlier in
# another batch, in backoff or leased. Plain look-ups, filtered in Python: as one statement (an
# anti-join per candidate) the planner, whose statistics lag a burst, walked a subscription's
# whole backlog once per candidate (seconds per claim at 20,000 pending). Due is checked in
# Python. (With a burst's stale statistics the planner still reads and sorts the backlog for
# the candidates, ~50 ms a claim at 50,000 pending; forced to walk an index in order it chose the
# primary key, over every delivered row: worse.)
_FRESH = (
    "SELECT d.id, d.created_at, d.subject, d.next_attempt_at FROM deliveries d"
    " WHERE d.subscription_id = $1 AND d.status = 'pending' AND d.batch_id IS NULL"
    " AND (d.lease_until IS NULL OR d.lease_until <= $2) ORDER BY d.id LIMIT $3"
)
# Of the candidates' subjects, each one's first delivery that waits elsewhere (none: no row).
# The subjects as one array and the minimum as a plain aggregate: as a min() per subject the
# planner, with a burst's stale statistics, walked the subscription's whole backlog in id order
# once per subject (deliveries_pending, seconds per claim at 20,000 pending); this way each
# subject is one probe of deliveries_subject_pending.
_WAITING = (
    "SELECT e.subject, min(e.id) AS first FROM deliveries e WHERE e.subscription_id = $1"
    " AND e.subject = ANY($3::text[]) AND e.status = 'pending'"
    " AND (e.batch_id IS NOT NULL OR e.next_attempt_at > $2 OR e.lease_until > $2)"
    " GROUP BY e.subject"
)
# Joined on the id alone: with `d.id = ANY($1)` beside it, the generic plan asyncpg's prepared
# statement gets after five runs scanned the unnested array once per leased row (800 x 800).
_LEASE = (
    "UPDATE deliveries d SET lease_until = $3, batch_id = u.batch FROM subscriptions s,"
    " unnest($1::bigint[], $2::uuid[]) AS u(id, batch)"
    " WHERE d.id = u.id AND s.id = d.subscription_id"
    " AND d.status = 'pending' AND (d.lease_until IS NULL OR d.lease_until <= $4)"
    " RETURNING " + _SENT
)


# One probe of deliveries_due per subscription (in its order: the first one past now).
_SOONEST = (
    "SELECT min(n.next_attempt_at) FROM subscriptions s CROSS JOIN LATERAL"
    " (SELECT d.next_attempt_at FROM deliveries d WHERE d.subscription_id = s.id"
    "  AND d.status = 'pending' AND d.next_attempt_at > $1 ORDER BY d.next_attempt_at LIMIT 1) n"
)


@dataclass(frozen=True)
class Claim:
    """What one claim took: sends (one delivery, or one batch in order), and how long until
    a batch that waits for more events is due anyway (None: none waits)."""

    sends: list[tuple[DueDelivery, ...]]
    batch_due_in_s: float | None = None


async def claim(
    conn: asyncpg.Connection,
    now: datetime,
    lease: timedelta,
    limit: int,
    worker: uuid.UUID | None = None,
    ahead: int = 0,
) -> Claim:
    """Lease up to `limit` sends that may go now, in one short transaction, for `worker`;
    `ahead` more than a single-delivery subscription's max_in_flight when no other worker holds
    its leases."""
    async with conn.transaction():
        rows = await conn.fetch(_SINGLES, now, now + lease, limit, worker, ahead)
        sends: list[tuple[DueDelivery, ...]] = [
            (DueDelivery(**dict(r)),) for r in sorted(rows, key=lambda r: r["id"])
        ]
        due_in: float | None = None
        for sub in await conn.fetch(_BATCHED, now):
            room = min(limit - len(sends), sub["max_in_flight"] - sub["busy"])
            if room <= 0:
                continue
            batches, wait_s = await _batches(conn, sub, now, now + lease, room)
            sends += batches
            if wait_s is not None:
                due_in = wait_s if due_in is None else min(due_in, wait_s)
    return Claim(sends, due_in)


async def _batches(
    conn: asyncpg.Connection, sub: asyncpg.Record, now: datetime, until: datetime, room: int
) -> tuple[list[tuple[DueDelivery, ...]], float | None]:
    """Up to `room` batches of a subscription to send now: due retries as they were, then new
    ones (a backlog fills several at once); and when a new one not yet full will be due."""
    sends: list[tuple[DueDelivery, ...]] = []
    while len(sends) < room:
        retry = await conn.fetchval(_RETRY, sub["id"], now)
        if retry is None:
            break
        ids = await conn.fetch(
            "SELECT id FROM deliveries WHERE batch_id = $1 AND status = 'pending'", retry
        )
        sends += await _lease(conn, [([r["id"] for r in ids], retry)], now, until)
    if len(sends) >= room:
        return sends, None
    size = sub["batch_max_events"]
    fresh = await conn.fetch(_FRESH, sub["id"], now, size * (room - len(sends)))
    fresh = [r for r in fresh if r["next_attempt_at"] <= now]
    if fresh:
        subjects = list({r["subject"] for r in fresh})
        rows = await conn.fetch(_WAITING, sub["id"], now, subjects)
        waiting = {r["subject"]: r["first"] for r in rows}
        fresh = [r for r in fresh if waiting.get(r["subject"], r["id"]) >= r["id"]]
    new: list[tuple[list[int], uuid.UUID]] = []
    wait_s: float | None = None
    for chunk in _chunks(fresh, size):
        ready_at = min(r["created_at"] for r in chunk) + timedelta(
            milliseconds=sub["batch_max_wait_ms"]
        )
        if len(chunk) < size and ready_at > now:
            wait_s = (ready_at - now).total_seconds()
            break
        new.append(([r["id"] for r in chunk], uuid.uuid4()))
    return sends + await _lease(conn, new, now, until), wait_s


def _chunks(fresh: Sequence[asyncpg.Record], size: int) -> list[list[asyncpg.Record]]:
    """New batches of up to `size` in delivery order. A subject's deliveries stay in the batch
    of its first: batches in flight at once may arrive in any order, so a later one of its
    subject is left for a claim after that batch was answered."""
    chunks: list[list[asyncpg.Record]] = []
    home: dict[str, int] = {}  # subject -> the chunk that holds its first delivery
    for row in fresh:
        if not chunks or len(chunks[-1]) >= size:
            chunks.append([])
        at = home.setdefault(row["subject"], len(chunks) - 1)
        if at == len(chunks) - 1:
            chunks[-1].append(row)
    return [chunk for chunk in chunks if chunk]


async def _lease(
    conn: asyncpg.Connection,
    batches: Sequence[tuple[Sequence[int], uuid.UUID]],
    now: datetime,
    until: datetime,
) -> list[tuple[DueDelivery, ...]]:
    """Lease the batches (their delivery ids and batch id) in one statement; each in order."""
    if not batches:
        return []
    ids = [i for chunk, _ in batches for i in chunk]
    batch_ids = [b for chunk, b in batches for _ in chunk]
    rows = await conn.fetch(_LEASE, ids, batch_ids, until, now)
    leased: dict[uuid.UUID, list[DueDelivery]] = {b: [] for _, b in batches}
    for r in sorted(rows, key=lambda r: r["id"]):
        leased[r["batch_id"]].append(DueDelivery(**dict(r)))
    return [tuple(ds) for ds in leased.values() if ds]


async def next_due_in_s(conn: asyncpg.Connection, now: datetime) -> float | None:
    """Seconds until the soonest delivery in backoff is due again; None when none is."""
    soonest = await conn.fetchval(_SOONEST, now)
    return None if soonest is None else (soonest - now).total_seconds()


async def release(conn: asyncpg.Connection, ids: Sequence[int]) -> None:
    """Give up the leases of deliveries this instance will not finish (it is stopping)."""
    await conn.execute(
        "UPDATE deliveries SET lease_until = NULL WHERE id = ANY($1::bigint[])"
        " AND status = 'pending'",
        list(ids),
    )
