"""Who hears an event: a subscription's lifetime and the fan-out, ordered by one lock.

The replay (replay.py) judges whether a subscription heard an event by comparing the moment live
fanned the event out (its inbox row's processed_at) with the subscription's created_at and, once
it ended, its status_changed_at. Each of those moments is drawn with clock_timestamp() under one
transaction-scoped advisory lock per schema: a change to who hears holds it exclusively, the
fan-out holds it shared from before its inbox claim until it commits, and reads the
subscriptions under it. The holds never overlap, so a fan-out whose moment is after a change's
saw that change committed, and one whose moment is before it did not see it: as live judged, so
does the replay.
"""

from __future__ import annotations

import asyncpg

_KEY = "hashtext('notify.subscriptions'), hashtext(current_schema())"


async def changing(conn: asyncpg.Connection) -> None:
    """Before a change to who hears, first in its transaction: wait for the fan-outs in flight."""
    await conn.execute(f"SELECT pg_advisory_xact_lock({_KEY})")


async def fanning_out(conn: asyncpg.Connection) -> None:
    """Before the fan-out's inbox claim: wait for a change to who hears to commit."""
    await conn.execute(f"SELECT pg_advisory_xact_lock_shared({_KEY})")
