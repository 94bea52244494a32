"""One street over time, for its page: every partner's signals there, the counts in each of the
rule set's windows, each threshold's state, and the history of the advice and decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from services.routing import queries
from services.routing.street_state import street_state

PAGE_SIZE = 50


async def street(
    conn: asyncpg.Connection, street_key: str, now: datetime, windows: list[int], page: int = 1
) -> dict[str, Any] | None:
    """The street's page data, its signals' page `page` (kept within the pages there are);
    None when routing has no incident on it."""
    found = await queries.street(conn, street_key, now, windows)
    if found is None:
        return None
    listed = int(
        await conn.fetchval(
            "SELECT count(*) FROM street_incidents WHERE street_key = $1", street_key
        )
    )
    pages = max(1, -(-listed // PAGE_SIZE))
    page = min(max(page, 1), pages)
    signals = await conn.fetch(
        "SELECT i.signal_id, i.categorie, i.observed_at, i.received_at,"
        " coalesce(a.partner_id, '') AS responder, i.partner_id AS sender, a.status, a.rule_id,"
        " a.ruleset_version FROM street_incidents i LEFT JOIN assignments a USING (signal_id)"
        " WHERE i.street_key = $1 ORDER BY i.observed_at DESC, i.signal_id LIMIT $2 OFFSET $3",
        street_key,
        PAGE_SIZE,
        (page - 1) * PAGE_SIZE,
    )
    crossings = await conn.fetch(
        "SELECT threshold_id, window_days, counts::text AS counts, advice, crossed_at"
        " FROM threshold_crossings WHERE street_key = $1 ORDER BY id DESC",
        street_key,
    )
    decisions = await conn.fetch(
        "SELECT kind, hub_id, reason, decided_by, decided_at, ends_at FROM wijkhub_decisions"
        " WHERE street_key = $1 OR hub_id IN (SELECT hub_id FROM wijkhubs"
        " WHERE $1 = ANY(street_keys)) ORDER BY seq DESC",
        street_key,
    )
    return {
        **found,
        "signals": [dict(r) for r in signals],
        "listed": {"found": listed, "page": page, "pages": pages},
        **await street_state(conn, street_key),
        "crossings": [dict(r) for r in crossings],
        "decisions": [dict(r) for r in decisions],
    }
