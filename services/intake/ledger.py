"""Intake's event log: what it published about signals, hash-chained for tamper evidence.

Every message intake publishes on signals.accepted or signals.feedback is also appended to
`event_log` in the same transaction. A single sealer (an advisory lock per schema) later gives
the committed rows their chain position in order and computes

    content_hash = sha256(canonical(topic, key, value))
    row_hash     = sha256(f"{position}:{prev_hash}:{content_hash}")

so editing, deleting or reordering any sealed row breaks the chain at that row. `verify` walks
the chain and names the first broken row; a checkpoint (head position and hash, signed with an
Ed25519 key the operator keeps) proves later that nothing before it was rewritten.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from contracts import topics
from wijkbus.outbox import OutgoingMessage, enqueue

GENESIS = "0" * 64
LOGGED_TOPICS = frozenset({topics.SIGNALS_ACCEPTED, topics.SIGNALS_FEEDBACK})
SEAL_LOCK = "wijkbus.intake.event_log"


async def publish(conn: asyncpg.Connection, *messages: OutgoingMessage) -> None:
    """Enqueue `messages` in the outbox and log the signal messages among them, one transaction."""
    await enqueue(conn, *messages)
    logged = [m for m in messages if m.topic in LOGGED_TOPICS]
    if logged:
        await conn.execute(
            "INSERT INTO event_log (topic, key, value, signal_id)"
            " SELECT topic, key, value, (convert_from(value, 'UTF8')::jsonb ->> 'subject')::uuid"
            " FROM unnest($1::text[], $2::text[], $3::bytea[]) WITH ORDINALITY"
            " AS m(topic, key, value, n) ORDER BY n",
            [m.topic for m in logged],
            [m.key for m in logged],
            [m.value for m in logged],
        )


def content_hash(topic: str, key: str | None, value: bytes) -> str:
    """The hash of one logged message, over an unambiguous encoding of its three parts."""
    canonical = json.dumps([topic, key, value.decode()], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def row_hash(position: int, prev_hash: str, content: str) -> str:
    """The chain hash of the row at `position`."""
    return hashlib.sha256(f"{position}:{prev_hash}:{content}".encode()).hexdigest()


async def seal(conn: asyncpg.Connection, batch: int = 1000) -> int:
    """Give up to `batch` committed, unsealed rows their chain place; return how many.

    Runs in its own transaction; a concurrent sealer (another intake instance) waits for the
    advisory lock, so positions are handed out by one sealer at a time.
    """
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", SEAL_LOCK)
        head = await conn.fetchrow(
            "SELECT position, row_hash FROM event_log WHERE position IS NOT NULL"
            " ORDER BY position DESC LIMIT 1"
        )
        position, prev = (head["position"], head["row_hash"]) if head else (0, GENESIS)
        rows = await conn.fetch(
            "SELECT seq, topic, key, value FROM event_log WHERE position IS NULL"
            " ORDER BY seq LIMIT $1",
            batch,
        )
        sealed = []
        for row in rows:
            position += 1
            content = content_hash(row["topic"], row["key"], bytes(row["value"]))
            this = row_hash(position, prev, content)
            sealed.append((row["seq"], position, content, prev, this))
            prev = this
        await conn.executemany(
            "UPDATE event_log SET position = $2, content_hash = $3, prev_hash = $4, row_hash = $5"
            " WHERE seq = $1",
            sealed,
        )
    return len(sealed)


async def seal_all(pool: asyncpg.Pool) -> None:
    """Seal every committed row not sealed yet (the sealer's round; see `wijkbus.periodic`)."""
    async with pool.acquire() as conn:
        while await seal(conn) > 0:
            pass


@dataclass(frozen=True)
class Verification:
    """The outcome of walking the chain."""

    sealed: int
    unsealed: int
    head_position: int
    head_hash: str
    broken_position: int | None = None
    broken_seq: int | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None


async def _pages(
    conn: asyncpg.Connection, query: str, column: str, after: int, *args: object
) -> AsyncIterator[asyncpg.Record]:
    """The rows of `query` (with `$1` the keyset bound, `$2` the page size, then `args`), page
    by page."""
    batch = 5000
    while True:
        rows = await conn.fetch(query, after, batch, *args)
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        after = rows[-1][column]


def _rows(conn: asyncpg.Connection) -> AsyncIterator[asyncpg.Record]:
    """The sealed rows in chain order, read in keyset pages (constant memory)."""
    return _pages(
        conn,
        "SELECT seq, position, topic, key, value, redacted_at, content_hash, prev_hash,"
        " row_hash FROM event_log WHERE position > $1 ORDER BY position LIMIT $2",
        "position",
        0,
    )


async def verify(conn: asyncpg.Connection) -> Verification:
    """Walk the whole chain; stop at the first row whose content or link does not hold."""
    expected_position, prev = 0, GENESIS
    async for row in _rows(conn):
        expected_position += 1
        problem, broken_seq = None, row["seq"]
        if row["value"] is None and row["redacted_at"] is not None:
            content = row["content_hash"]  # redacted by retention: its hash stands for it
        else:
            content = content_hash(row["topic"], row["key"], bytes(row["value"] or b""))
        if row["position"] != expected_position:
            problem = (
                f"it is missing: the chain jumps from {expected_position - 1} to {row['position']}"
            )
            broken_seq = None
        elif content != row["content_hash"]:
            problem = "its content was changed after it was sealed"
        elif row["prev_hash"] != prev:
            problem = "it does not link to the row before it"
        elif row["row_hash"] != row_hash(row["position"], prev, content):
            problem = "its chain hash does not match its content and place"
        if problem is not None:
            return Verification(
                sealed=expected_position - 1,
                unsealed=await _unsealed(conn),
                head_position=expected_position - 1,
                head_hash=prev,
                broken_position=expected_position,
                broken_seq=broken_seq,
                problem=problem,
            )
        prev = row["row_hash"]
    return Verification(
        sealed=expected_position,
        unsealed=await _unsealed(conn),
        head_position=expected_position,
        head_hash=prev,
    )


async def _unsealed(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM event_log WHERE position IS NULL"))


@dataclass(frozen=True)
class Checkpoint:
    """The chain's head at a moment, signed: nothing before it may change afterwards."""

    position: int
    head_hash: str
    at: str
    public_key: str
    signature: str = ""

    def payload(self) -> bytes:
        return f"wijkbus-intake-event-log:{self.position}:{self.head_hash}:{self.at}".encode()

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        return cls(**json.loads(text))


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The operator's signing key at `path` (PEM, created with mode 0600 when absent)."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return key
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return key


def _public(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def sign_checkpoint(verification: Verification, key: Ed25519PrivateKey) -> Checkpoint:
    """A signed checkpoint of an intact chain's head."""
    if not verification.intact:
        raise ValueError("the chain is broken: no checkpoint of a broken chain")
    unsigned = Checkpoint(
        position=verification.head_position,
        head_hash=verification.head_hash,
        at=datetime.now(UTC).isoformat(),
        public_key=_public(key.public_key()),
    )
    signature = base64.b64encode(key.sign(unsigned.payload())).decode()
    return Checkpoint(**{**asdict(unsigned), "signature": signature})


async def check_checkpoint(conn: asyncpg.Connection, checkpoint: Checkpoint) -> str | None:
    """None when the checkpoint is authentic and the chain still holds its head; else why not."""
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(checkpoint.public_key))
    try:
        public.verify(base64.b64decode(checkpoint.signature), checkpoint.payload())
    except InvalidSignature:
        return "the checkpoint's signature does not match its content"
    if checkpoint.position == 0:
        return None
    found = await conn.fetchval(
        "SELECT row_hash FROM event_log WHERE position = $1", checkpoint.position
    )
    if found is None:
        return f"row {checkpoint.position} of the checkpoint is gone from the chain"
    if found != checkpoint.head_hash:
        return f"row {checkpoint.position} no longer has the hash the checkpoint signed"
    return None


def logged_since(
    conn: asyncpg.Connection, since_seq: int, topic: str | None = None
) -> AsyncIterator[asyncpg.Record]:
    """Logged messages after `since_seq` (of one topic, if given), oldest first (what
    republishing sends, and what intake's replay reads)."""
    return _pages(
        conn,
        "SELECT seq, topic, key, value FROM event_log WHERE seq > $1 AND value IS NOT NULL"
        " AND ($3::text IS NULL OR topic = $3) ORDER BY seq LIMIT $2",
        "seq",
        since_seq,
        topic,
    )
