"""Ledger acts: what intake itself does to its event log, chained and signed with its ledger key.

Three kinds (see migration 0005): the `cutover` from hash v1 to v2, a retention `redaction`
(the hash of the content it removed, at the row's `redacted_at`) and a `checkpoint` of the
sealed chain's head, written on a schedule and at shutdown. Each act is hashed over its fields
and the act before it, and that hash is signed (Ed25519): someone with only database access can
neither redact a row nor move a checkpoint without `verify` saying so.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.intake import chaining, ledger, trails
from wijkbus.logging import get_logger
from wijkbus.periodic import Periodic

log = get_logger(__name__)

ACTS_LOCK = "wijkbus.intake.ledger_acts"
CUTOVER, REDACTION, CHECKPOINT = "cutover", "redaction", "checkpoint"
TRAIL_CHECKPOINT = "trail-checkpoint"  # a trail's head; `detail` names its table
V1_REDACTED = "redacted before the cut-over (hash v1): retention and a hand cannot be told apart"


class LedgerError(RuntimeError):
    """The ledger is not in a state intake may sign."""


class LedgerKey:
    """Intake's Ed25519 ledger key (INTAKE_LEDGER_KEY); auditors trust its public half."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        raw = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.public = base64.b64encode(raw).decode()

    @classmethod
    def from_setting(cls, text: str) -> LedgerKey:
        """The key from its setting: 32 bytes, base64 (see `new_ledger_key`)."""
        try:
            raw = base64.b64decode(text.strip(), validate=True)
        except ValueError as exc:
            raise ValueError("INTAKE_LEDGER_KEY is not base64") from exc
        if len(raw) != 32:
            raise ValueError("INTAKE_LEDGER_KEY must be 32 bytes (base64)")
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    @classmethod
    def ephemeral(cls) -> LedgerKey:
        """A throwaway key (dev and tests)."""
        return cls(Ed25519PrivateKey.generate())

    def sign(self, act_hash: str) -> str:
        """The signature of one act's hash."""
        return base64.b64encode(self._private.sign(_payload(act_hash))).decode()


def new_ledger_key() -> str:
    """A new random key in the form INTAKE_LEDGER_KEY takes."""
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(raw).decode()


def _payload(act_hash: str) -> bytes:
    return f"wijkbus-intake-ledger-act:{act_hash}".encode()


def signature_holds(public_key: str, signature: str, act_hash: str) -> bool:
    """Whether `signature` is `public_key`'s signature of `act_hash`."""
    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key))
        public.verify(base64.b64decode(signature), _payload(act_hash))
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class Act:
    """One act, as it is hashed."""

    n: int
    kind: str
    position: int
    row_hash: str
    at: datetime
    detail: str

    def hash(self, prev_hash: str) -> str:
        """The act's chain hash, over its fields and the hash of the act before it."""
        at = self.at.astimezone(UTC).isoformat()
        fields = [self.n, self.kind, self.position, self.row_hash, at, self.detail, prev_hash]
        canonical = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


async def _lock(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", ACTS_LOCK)


async def append(
    conn: asyncpg.Connection,
    key: LedgerKey,
    acts: Sequence[tuple[str, int, str, datetime, str]],
) -> None:
    """Append (kind, position, row_hash, at, detail) acts, chained and signed, in one insert.

    Runs in the caller's transaction and holds the acts lock until it ends, so acts of
    concurrent writers (retention, the checkpointer, another instance) take turns.
    """
    if not acts:
        return
    await _lock(conn)
    last = await conn.fetchrow("SELECT n, act_hash FROM ledger_acts ORDER BY n DESC LIMIT 1")
    if last is None or last["act_hash"] is None:
        raise LedgerError("the cut-over (act 1) is not signed yet: run sign_cutover first")
    n, prev = last["n"], last["act_hash"]
    rows = []
    for kind, position, row_hash, at, detail in acts:
        n += 1
        act = Act(n, kind, position, row_hash, at, detail)
        this = act.hash(prev)
        rows.append((act, prev, this, key.sign(this)))
        prev = this
    await conn.execute(
        "INSERT INTO ledger_acts (n, kind, position, row_hash, at, detail, prev_hash, act_hash,"
        " signature, public_key)"
        " SELECT *, $10 FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[],"
        " $5::timestamptz[], $6::text[], $7::text[], $8::text[], $9::text[])",
        [a.n for a, *_ in rows],
        [a.kind for a, *_ in rows],
        [a.position for a, *_ in rows],
        [a.row_hash for a, *_ in rows],
        [a.at for a, *_ in rows],
        [a.detail for a, *_ in rows],
        [p for _, p, _, _ in rows],
        [h for _, _, h, _ in rows],
        [s for *_, s in rows],
        key.public,
    )


async def sign_cutover(conn: asyncpg.Connection, key: LedgerKey) -> bool:
    """Sign migration 0005's cut-over act and record the v1 rows already redacted (once; True
    when it did). Intake runs this at start, before its sealer."""
    async with conn.transaction():
        await _lock(conn)
        first = await conn.fetchrow("SELECT * FROM ledger_acts WHERE n = 1")
        if first is None or first["act_hash"] is not None:
            return False
        if first["kind"] != CUTOVER:
            raise LedgerError("act 1 is not the cut-over: the ledger's acts were tampered with")
        act = Act(1, CUTOVER, first["position"], first["row_hash"], first["at"], first["detail"])
        this = act.hash(ledger.GENESIS)
        await conn.execute(
            "UPDATE ledger_acts SET prev_hash = $1, act_hash = $2, public_key = $3, signature = $4"
            " WHERE n = 1",
            ledger.GENESIS,
            this,
            key.public,
            key.sign(this),
        )
        v1 = await conn.fetch(
            "SELECT position, content_hash, redacted_at FROM event_log WHERE position <= $1"
            " AND value IS NULL AND redacted_at IS NOT NULL ORDER BY position",
            act.position,
        )
        await append(
            conn,
            key,
            [
                (REDACTION, r["position"], r["content_hash"], r["redacted_at"], V1_REDACTED)
                for r in v1
            ],
        )
    log.info("event log cut over to hash v2", v1_rows=act.position, v1_redacted=len(v1))
    return True


async def redact(
    conn: asyncpg.Connection, key: LedgerKey, signal_id: object, at: datetime, reason: str
) -> int:
    """Remove the content of a signal's sealed rows, each with a signed redaction act recording
    the hash of what it removed; the caller's transaction. Return how many rows."""
    removed = await conn.fetch(
        "WITH old AS (SELECT e.seq, e.position, CASE WHEN e.position <= c.position"
        " THEN e.content_hash ELSE encode(sha256(e.value), 'hex') END AS removed"
        " FROM event_log e, ledger_acts c WHERE c.n = 1 AND e.signal_id = $1::text"
        " AND e.position IS NOT NULL AND e.value IS NOT NULL FOR UPDATE OF e)"
        " UPDATE event_log e SET value = NULL, redacted_at = $2 FROM old WHERE e.seq = old.seq"
        " RETURNING old.position, old.removed",
        str(signal_id),
        at,
    )
    await append(
        conn,
        key,
        [(REDACTION, r["position"], r["removed"], at, reason) for r in sorted(removed)],
    )
    return len(removed)


async def checkpoint(
    conn: asyncpg.Connection,
    key: LedgerKey,
    at: datetime,
    detail: str = "schedule",
    since: Act | None = None,
) -> Act:
    """Sign the sealed chain's head as it is now; return the act.

    Refuses when the chain no longer holds the newest signed head, or `since` (the last
    checkpoint this process wrote) is gone: a checkpoint must never vouch for a chain that
    lost rows, even when their checkpoints were removed with them.
    """
    async with conn.transaction():
        await _lock(conn)
        position, head_hash = await chaining.sealed_head(conn, "event_log")
        newest = await conn.fetchrow(
            "SELECT n, position, row_hash FROM ledger_acts WHERE kind IN ('cutover', 'checkpoint')"
            " ORDER BY n DESC LIMIT 1"
        )
        vouched = [(r["n"], r["position"], r["row_hash"]) for r in [newest] if r is not None]
        if since is not None:
            vouched.append((since.n, since.position, since.row_hash))
            mine = await conn.fetchval("SELECT row_hash FROM ledger_acts WHERE n = $1", since.n)
            if mine != since.row_hash:
                raise LedgerError(f"checkpoint act {since.n} this intake wrote is gone or changed")
        for n, at_row, signed_hash in vouched:
            found = await conn.fetchval(
                "SELECT row_hash FROM event_log WHERE position = $1", at_row
            )
            if at_row > 0 and found != signed_hash:
                raise LedgerError(
                    f"chain row {at_row} no longer has the hash act {n} signed:"
                    " no checkpoint over a chain that lost or changed rows"
                )
        heads = [await _trail_head(conn, trail) for trail in trails.TRAILS]
        await append(
            conn,
            key,
            [
                *((TRAIL_CHECKPOINT, p, h, at, table) for table, p, h in heads),
                (CHECKPOINT, position, head_hash, at, detail),
            ],
        )
        n = await conn.fetchval("SELECT max(n) FROM ledger_acts")
    return Act(n, CHECKPOINT, position, head_hash, at, detail)


async def _trail_head(conn: asyncpg.Connection, trail: trails.Trail) -> tuple[str, int, str]:
    """A trail's head, refused when the trail lost the row its newest checkpoint signed."""
    signed = await conn.fetchrow(
        "SELECT n, position, row_hash FROM ledger_acts WHERE kind = $1 AND detail = $2"
        " ORDER BY n DESC LIMIT 1",
        TRAIL_CHECKPOINT,
        trail.table,
    )
    if signed is not None and signed["position"] > 0:
        found = await conn.fetchval(
            f"SELECT row_hash FROM {trail.table} WHERE position = $1", signed["position"]
        )
        if found != signed["row_hash"]:
            raise LedgerError(
                f"{trail.table} row {signed['position']} no longer has the hash act"
                f" {signed['n']} signed: no checkpoint over a trail that lost or changed rows"
            )
    position, head_hash = await trails.head(conn, trail)
    return trail.table, position, head_hash


class Checkpointer:
    """Signs the chain's head every `interval_s` seconds, and once more at shutdown."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        key: LedgerKey,
        clock: Callable[[], datetime],
        interval_s: float,
    ) -> None:
        self._pool, self._key, self._clock = pool, key, clock
        self._last: Act | None = None
        self.periodic = Periodic("event-log-checkpoints", self.run_once, interval_s)

    async def run_once(self, detail: str = "schedule") -> Act:
        """Write one checkpoint now (logged too: the log is a witness outside the database)."""
        async with self._pool.acquire() as conn:
            try:
                act = await checkpoint(conn, self._key, self._clock(), detail, self._last)
            except LedgerError as exc:
                log.error("event log checkpoint refused", reason=str(exc))
                raise
        self._last = act
        log.info(
            "event log checkpoint",
            act=act.n,
            chain_row=act.position,
            head_hash=act.row_hash,
            kind=detail,
        )
        return act
