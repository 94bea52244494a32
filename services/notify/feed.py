"""The live feed's log: consumed events kept in commit order and announced at commit (pg_notify).

The consumer logs and announces each event inside its transaction, so PostgreSQL delivers the
announcement only once the event is committed, and to every notify instance. A lock held to the
commit makes the log's order (`seq`) the commit order: a stream that has shown seq N has seen
every event before it, and resumes after a reconnect from N without missing one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg

from contracts.envelope import CloudEvent

_PAYLOAD_LIMIT = 7900  # pg_notify refuses 8000 bytes and more; the seq and a space go first
PAGE = 500  # logged items read at a time when a stream catches up
_PARTNER_FIELDS = ("partner_id", "to_partner_id", "from_partner_id")


def channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel of the feed."""
    return f"{schema}_feed"


def announcement(event: CloudEvent) -> str:
    """What a feed shows of an event, as the NOTIFY payload: the envelope, partners and data."""
    data = event.data if isinstance(event.data, Mapping) else {}
    item: dict[str, Any] = {
        "id": event.id,
        "type": event.type,
        "source": event.source,
        "subject": event.subject,
        "time": event.time.isoformat() if event.time else None,
        "partners": _partners(data),
        "data": data,
    }
    payload = json.dumps(item, separators=(",", ":"), default=str)
    if len(payload.encode()) > _PAYLOAD_LIMIT:
        payload = json.dumps({**item, "data": None}, separators=(",", ":"), default=str)
    return payload


def _partners(data: Mapping[str, Any]) -> list[str]:
    """The partners an event concerns: those it names, and a wijkhub's partners taking part."""
    named = {str(data[f]) for f in _PARTNER_FIELDS if data.get(f)}
    taking_part = data.get("partners")
    if isinstance(taking_part, list | tuple):
        named.update(str(p) for p in taking_part if p)
    return sorted(named)


async def announce(conn: asyncpg.Connection, events: list[CloudEvent], at: datetime) -> None:
    """Log `events` in order and announce them as `seq payload` once the transaction commits."""
    if not events:
        return
    # Held until commit: the next transaction's seqs commit after these, never before.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.feed'))")
    await conn.execute(
        "WITH logged AS (INSERT INTO feed_items (payload, at)"
        "  SELECT p, $2 FROM unnest($1::text[]) WITH ORDINALITY AS u(p, n) ORDER BY n"
        "  RETURNING seq, payload)"
        " SELECT pg_notify(current_schema() || '_feed', seq || ' ' || payload)"
        " FROM logged ORDER BY seq",
        [announcement(event) for event in events],
        at,
    )


def parse(notified: str) -> tuple[int, dict[str, Any]]:
    """The seq and item of an announcement's NOTIFY payload."""
    seq, _, payload = notified.partition(" ")
    return int(seq), json.loads(payload)


async def latest(conn: asyncpg.Connection) -> int:
    """The seq of the last logged item (0 when there is none)."""
    return int(await conn.fetchval("SELECT coalesce(max(seq), 0) FROM feed_items"))


async def since(conn: asyncpg.Connection, after: int) -> list[tuple[int, dict[str, Any]]]:
    """Up to a page of the items logged after seq `after`, in order."""
    rows = await conn.fetch(
        "SELECT seq, payload FROM feed_items WHERE seq > $1 ORDER BY seq LIMIT $2", after, PAGE
    )
    return [(r["seq"], json.loads(r["payload"])) for r in rows]


async def delete_before(conn: asyncpg.Connection, cutoff: datetime) -> int:
    """Forget the items logged before `cutoff`; how many were deleted."""
    result = await conn.execute("DELETE FROM feed_items WHERE at < $1", cutoff)
    return int(result.split()[-1])
