"""Token buckets shared by every replica: kept in PostgreSQL (kit migration 0003), keyed on
who is calling, answered with the seconds to wait (for Retry-After).

Each bucket is one row updated under its row lock by `rate_take` (GCRA, one round trip), on the
database's clock unless a test passes its own: two replicas draw from one bucket, not one each.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


class Database(Protocol):
    """An asyncpg pool or connection on the service's schema."""

    async def fetchval(self, query: str, *args: Any) -> Any: ...


_TAKE = "SELECT rate_take($1, $2, $3, $4, $5)"
# What rate_take would answer for a cost of 0 (tat - now - tau, at least 0; no row: 0).
# Each bucket is looked up by its key (an index scan whatever the plan: a statement planned once,
# while the table is small, must not scan it once it has grown).
_WAITS = (
    "SELECT array_agg(greatest(0, coalesce((SELECT b.tat FROM rate_buckets b"
    " WHERE b.bucket = k.bucket), 0) - k.tau"
    " - coalesce(k.now, extract(epoch FROM clock_timestamp())::float8)) ORDER BY k.n)"
    " FROM unnest($1::text[], $2::float8[], $3::float8[]) WITH ORDINALITY AS k(bucket, tau, now, n)"
)
_SPEND_EACH = (
    "SELECT count(rate_take(k.bucket, k.inc, k.tau, true, k.now)) FROM unnest($1::text[],"
    " $2::float8[], $3::float8[], $4::float8[]) AS k(bucket, inc, tau, now)"
)
_MAKE_KEY = "INSERT INTO rate_bucket_secret (secret) VALUES ($1) ON CONFLICT DO NOTHING"


@dataclass
class SharedBuckets:
    """One kind of limit (`kind`, e.g. "partner-events"): `rate_per_s` with room for `burst`."""

    kind: str
    rate_per_s: float
    burst: float
    clock: Callable[[], float] | None = None  # None: the database's clock
    _secret: bytes | None = field(default=None, repr=False)

    async def take(self, db: Database, key: str, cost: float = 1.0) -> float:
        """Spend `cost` tokens of `key`'s bucket; 0 when allowed, else the seconds to wait."""
        if cost > self.burst:
            return math.inf
        return await self._call(db, key, cost, force=False)

    async def spend(self, db: Database, key: str, cost: float = 1.0) -> float:
        """Record `cost` tokens that were spent anyway (e.g. a failed attempt); the seconds the
        key must now wait (0: it may go on)."""
        return await self._call(db, key, cost, force=True)

    async def wait(self, db: Database, key: str) -> float:
        """The seconds `key` must wait before it may go on (0: now), spending nothing."""
        return (await waits(db, [(self, key)]))[0]

    async def _call(self, db: Database, key: str, cost: float, *, force: bool) -> float:
        bucket = await self._bucket(db, key)
        now = self.clock() if self.clock else None
        inc, tau = cost / self.rate_per_s, self.burst / self.rate_per_s
        return float(await db.fetchval(_TAKE, bucket, inc, tau, force, now))

    async def _bucket(self, db: Database, key: str) -> str:
        if self._secret is None:
            # One secret for every replica: the first to ask makes it.
            await db.fetchval(_MAKE_KEY, secrets.token_bytes(32))
            self._secret = bytes(await db.fetchval("SELECT secret FROM rate_bucket_secret"))
        message = f"{self.kind}\x00{key}".encode()
        return f"{self.kind}:{hmac.new(self._secret, message, hashlib.sha256).hexdigest()}"


async def waits(db: Database, asks: list[tuple[SharedBuckets, str]]) -> list[float]:
    """The seconds each (buckets, key) must wait (0: now), in one read that locks and writes
    nothing: every request asks, so a lock on one caller's row would queue them all."""
    if not asks:
        return []
    buckets = [await kind._bucket(db, key) for kind, key in asks]
    taus = [kind.burst / kind.rate_per_s for kind, _ in asks]
    nows = [kind.clock() if kind.clock else None for kind, _ in asks]
    return [float(w) for w in await db.fetchval(_WAITS, buckets, taus, nows)]


async def spend_each(db: Database, spends: list[tuple[SharedBuckets, str]]) -> None:
    """Record one spent token for each (buckets, key), in one statement (a pair listed twice
    spends two)."""
    if not spends:
        return
    buckets = [await kind._bucket(db, key) for kind, key in spends]
    incs = [1.0 / kind.rate_per_s for kind, _ in spends]
    taus = [kind.burst / kind.rate_per_s for kind, _ in spends]
    nows = [kind.clock() if kind.clock else None for kind, _ in spends]
    await db.fetchval(_SPEND_EACH, buckets, incs, taus, nows)


async def sweep(db: Database) -> int:
    """Forget buckets that are full again (a missing bucket is a full one); how many went."""
    status = await db.fetchval(
        "WITH gone AS (DELETE FROM rate_buckets"
        " WHERE tat < extract(epoch FROM clock_timestamp()) RETURNING 1)"
        " SELECT count(*) FROM gone"
    )
    return int(status)
