"""A street's current state for the API: its thresholds and where its wijkhub advice stands."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import asyncpg

from services.routing.wijkhub.reading import OPEN_ADVICE

AdviceState = Literal["none", "awaiting_decision", "declined", "wijkhub_running", "done"]

_THRESHOLDS = """
SELECT a.threshold_id, a.active, a.crossings, a.evaluated_at, x.advice, x.window_days,
       x.crossed_at AS last_crossed_at
FROM street_alerts a
LEFT JOIN LATERAL (SELECT advice, window_days, crossed_at FROM threshold_crossings c
                   WHERE c.street_key = a.street_key AND c.threshold_id = a.threshold_id
                   ORDER BY crossed_at DESC, id DESC LIMIT 1) x ON true
WHERE a.street_key = $1 ORDER BY a.threshold_id
"""
_ADVICE = f"""
SELECT (SELECT crossed_at FROM threshold_crossings WHERE wijkhub AND street_key = $1
        ORDER BY crossed_at DESC, id DESC LIMIT 1) AS advised_at,
       (SELECT max(decided_at) FROM wijkhub_decisions
        WHERE kind = 'declined' AND street_key = $1) AS declined_at,
       (SELECT hub_id FROM wijkhubs WHERE $1 = ANY (street_keys) AND closed_at IS NULL
        ORDER BY opened_at DESC LIMIT 1) AS hub_id,
       EXISTS (SELECT 1 FROM ({OPEN_ADVICE}) o WHERE o.street_key = $1) AS awaiting
"""


async def street_state(conn: asyncpg.Connection, street_key: str) -> dict[str, Any]:
    """The street's thresholds (active or not, the latest crossing) and its wijkhub advice:
    none, awaiting a decision, declined, a wijkhub running on it, or done (a hub came and went)."""
    thresholds = [dict(r) for r in await conn.fetch(_THRESHOLDS, street_key)]
    row = await conn.fetchrow(_ADVICE, street_key)
    assert row is not None  # a SELECT without FROM always yields its one row
    return {
        "thresholds": thresholds,
        "advice": {
            "state": _advice_state(
                row["advised_at"], row["declined_at"], row["hub_id"], row["awaiting"]
            ),
            "advised_at": row["advised_at"],
            "declined_at": row["declined_at"],
            "hub_id": row["hub_id"],
        },
    }


def _advice_state(
    advised_at: datetime | None, declined_at: datetime | None, hub_id: str | None, awaiting: bool
) -> AdviceState:
    if hub_id is not None:
        return "wijkhub_running"
    if awaiting:
        return "awaiting_decision"
    if advised_at is None:
        return "none"
    if declined_at is not None and declined_at >= advised_at:
        return "declined"
    return "done"
