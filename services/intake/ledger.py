"""Intake's event log: what it published about signals, hash-chained for tamper evidence.

The log is intake's outbox (migration 0008): every message intake publishes on signals.accepted
or signals.feedback is stored once, in the outbox row the relay publishes, and `event_log` is
the view of those rows with the chain's columns. `publish` gives each row its chain position as
it writes it (`chaining`: under the sealer's advisory lock, held until the writing transaction
ends, so positions follow commit order); the sealer chains what an older writer left unsealed.
Each row has (hash v2)

    value_hash   = sha256(value)
    content_hash = sha256(canonical("v2", topic, key, signal_id, logged_at, value_hash))
    row_hash     = sha256(f"{position}:{prev_hash}:{content_hash}")

so editing, relabelling, deleting or reordering any sealed row breaks the chain at that row.
Rows sealed before migration 0005 keep hash v1 (`content_hash_v1`: topic, key, value only); the
signed cut-over act says up to which row. Redactions and scheduled checkpoints are signed acts
(`ledger_acts`); `ledger_verify.verify` checks all of it. A checkpoint the operator exports and
keeps elsewhere (`Checkpoint`, signed with a key of the operator's) proves later that nothing
before it was rewritten, even by someone holding intake's own key.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from contracts import topics
from services.intake import chaining
from services.intake.chaining import row_hash as row_hash  # the chain hash, as verifiers know it
from wijkbus.outbox import OutgoingMessage, enqueue
from wijkbus.outbox import columns as outbox_columns

if TYPE_CHECKING:
    from services.intake import ledger_verify

GENESIS = chaining.GENESIS
LOGGED_TOPICS = frozenset({topics.SIGNALS_ACCEPTED, topics.SIGNALS_FEEDBACK})
SEAL_LOCK = "wijkbus.intake.event_log"


async def publish(conn: asyncpg.Connection, *messages: OutgoingMessage) -> None:
    """Append `messages` to intake's outbox, which is its event log, in one statement: each
    signal message is stored once and chained there at once (each must name its signal as
    subject); the chain's lock is held until the caller's transaction ends."""
    for message in messages:
        if message.topic in LOGGED_TOPICS and message.subject is None:
            raise ValueError(f"a message on {message.topic} must name its signal as subject")
    logged = [m for m in messages if m.topic in LOGGED_TOPICS]
    if not logged:
        await enqueue(conn, *messages)
        return
    head = await chaining.claim_head(conn, SEAL_LOCK, "event_log", seal)
    contents = [
        content_hash(m.topic, m.key, m.subject, head.now, value_hash(m.value)) for m in logged
    ]
    chained = iter(
        zip(contents, chaining.link(head.position, head.row_hash, contents), strict=True)
    )
    chain = [next(chained) if m.topic in LOGGED_TOPICS else (None, None) for m in messages]
    await conn.execute(
        "INSERT INTO outbox (topic, key, value, headers, subject, created_at, position,"
        " content_hash, prev_hash, row_hash) SELECT topic, key, value, headers::jsonb, subject,"
        " $6, position, content, prev, hash FROM unnest($1::text[], $2::bytea[], $3::bytea[],"
        " $4::text[], $5::text[], $7::bigint[], $8::text[], $9::text[], $10::text[])"
        " WITH ORDINALITY AS m(topic, key, value, headers, subject, position, content, prev,"
        " hash, n) ORDER BY n",
        *outbox_columns(messages),
        head.now,
        [link.position if link else None for _, link in chain],
        [content for content, _ in chain],
        [link.prev_hash if link else None for _, link in chain],
        [link.row_hash if link else None for _, link in chain],
    )


def content_hash_v1(topic: str, key: str | None, value: bytes) -> str:
    """The v1 hash of one logged message (rows sealed before the cut-over): topic, key, value."""
    return chaining.canonical_hash([topic, key, value.decode()])


def value_hash(value: bytes) -> str:
    """The hash of a logged message's bytes (what a redaction act records it removed)."""
    return hashlib.sha256(value).hexdigest()


def content_hash(
    topic: str, key: str | None, signal_id: object, logged_at: datetime, value_digest: str
) -> str:
    """The v2 hash of one logged row: every column a trail shows, and the value by its hash
    (so a redacted row still proves its signal, topic and time)."""
    fields = [
        "v2",
        topic,
        key,
        None if signal_id is None else str(signal_id),
        logged_at.astimezone(UTC).isoformat(),
        value_digest,
    ]
    return chaining.canonical_hash(fields)


async def seal(conn: asyncpg.Connection, batch: int = 1000) -> int:
    """Give up to `batch` committed, unsealed rows their chain place; return how many.

    Runs in its own transaction; a concurrent sealer (another intake instance) waits for the
    advisory lock, so positions are handed out by one sealer at a time. With nothing to seal
    (writers chain their rows themselves) it takes no lock, so no writer waits for it.
    """
    if not await chaining.anything_unsealed(conn, "event_log"):
        return 0
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", SEAL_LOCK)
        position, prev = await chaining.sealed_head(conn, "event_log")
        rows = await conn.fetch(
            "SELECT seq, topic, key, value, signal_id, logged_at FROM event_log"
            " WHERE position IS NULL ORDER BY seq LIMIT $1",
            batch,
        )
        contents = [
            content_hash(
                r["topic"], r["key"], r["signal_id"], r["logged_at"], value_hash(bytes(r["value"]))
            )
            for r in rows
        ]
        links = chaining.link(position, prev, contents)
        if rows:
            await conn.execute(
                "UPDATE event_log e SET position = s.position, content_hash = s.content,"
                " prev_hash = s.prev, row_hash = s.hash FROM unnest($1::bigint[], $2::bigint[],"
                " $3::text[], $4::text[], $5::text[]) AS s(seq, position, content, prev, hash)"
                " WHERE e.seq = s.seq",
                [r["seq"] for r in rows],
                [link.position for link in links],
                contents,
                [link.prev_hash for link in links],
                [link.row_hash for link in links],
            )
    return len(rows)


async def seal_all(pool: asyncpg.Pool) -> None:
    """Seal every committed row not sealed yet (the sealer's round; see `wijkbus.periodic`)."""
    async with pool.acquire() as conn:
        while await seal(conn) > 0:
            pass


async def pages(
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


def sign_checkpoint(verification: ledger_verify.Verification, key: Ed25519PrivateKey) -> Checkpoint:
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
    return pages(
        conn,
        "SELECT seq, topic, key, value FROM event_log WHERE seq > $1 AND value IS NOT NULL"
        " AND ($3::text IS NULL OR topic = $3) ORDER BY seq LIMIT $2",
        "seq",
        since_seq,
        topic,
    )
