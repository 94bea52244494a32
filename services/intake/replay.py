"""Rebuild intake's signal projection from its own store and routing's events, and compare.

`wijkbus replay intake --into SCHEMA [--until TIME]` rebuilds the `signals` table from what
intake logged (its hash-chained `event_log`: every accepted signal and every accepted feedback)
and from `routing.events` (who a signal is assigned to now; resolutions), with the same store
functions the live service uses. Three passes, each in its own order:

1. every accepted signal, from the log;
2. every routing event, from the topic (offset 0 to the end it had when the replay began);
3. every accepted feedback, from the log.

That order gives the live outcome without trusting clocks across services, because routing
never assigns or escalates a signal after its responder acknowledged it: feedback is always the
last word on a signal's status. Each record is handled once per CloudEvent (the scratch schema's
inbox); `--until` leaves out what happened after that moment by each event's own time.

Signals that retention anonymised are left out of the comparison: their log rows were redacted
on purpose, so the log can no longer say where they were. So are signals live accepted after the
replay's last one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from contracts import topics
from contracts.envelope import CloudEvent
from contracts.events import FeedbackReceived, SignalAccepted
from services.intake import ledger, store
from services.intake.handlers import learn_from_routing
from wijkbus import processor, replaying
from wijkbus.processor import Delivery, Processor
from wijkbus.replaying import Difference, Progress, Rebuilt, Replay, ReplayClock

HERE = Path(__file__).parent
INPUTS = [topics.ROUTING_EVENTS]
COMPARED = (
    "partner_id, categorie, street_key, buurt_code, observed_at, received_at,"
    " assigned_partner_id, status, resolved_at"
)


async def rebuild(
    database_url: str,
    bootstrap: str,
    into: str,
    *,
    partners: tuple[str, ...],
    until: datetime | None = None,
    live_schema: str = "intake",
    progress: Progress | None = None,
) -> Rebuilt:
    """Replay intake's log and routing's events into the empty schema `into`."""
    done = Rebuilt()
    async with replaying.scratch(database_url, into, HERE / "migrations", live_schema) as pool:
        await _from_log(pool, database_url, live_schema, ACCEPTED, until, done)
        source = replaying.batches(bootstrap, INPUTS, progress)
        await Replay(ReplayClock(), until, done).run(pool, [ASSIGNMENTS], source)
        await _from_log(pool, database_url, live_schema, FEEDBACK, until, done)
    return done


async def _from_log(
    pool: asyncpg.Pool,
    database_url: str,
    live_schema: str,
    proc: Processor[Any],
    until: datetime | None,
    done: Rebuilt,
) -> None:
    log = await asyncpg.connect(database_url, server_settings={"search_path": live_schema})
    try:
        async with log.transaction(readonly=True, isolation="repeatable_read"):
            source = _logged(log, proc.topics[0])
            await Replay(ReplayClock(), until, done).run(pool, [proc], source)
    finally:
        await log.close()


async def _logged(
    log: asyncpg.Connection, topic: str, size: int = 500
) -> AsyncIterator[list[Delivery]]:
    """The log's rows of `topic` as records, a batch at a time (the log is the source here)."""
    batch: list[Delivery] = []
    async for row in ledger.logged_since(log, 0, topic):
        batch.append(Delivery(topic, 0, row["seq"], row["key"], bytes(row["value"])))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


async def _accept(conn: asyncpg.Connection, event: CloudEvent) -> None:
    await store.insert_signals(conn, [SignalAccepted.model_validate(event.data)])


async def _feedback(conn: asyncpg.Connection, event: CloudEvent) -> None:
    feedback = FeedbackReceived.model_validate(event.data)
    await store.set_status(conn, feedback.signal_id, feedback.kind, feedback.received_at)


# The replay's processors; the log's two topics are read by names of their own.
ACCEPTED = processor.events(
    f"log:{topics.SIGNALS_ACCEPTED}", [topics.SIGNALS_ACCEPTED], processor.each(_accept)
)
FEEDBACK = processor.events(
    f"log:{topics.SIGNALS_FEEDBACK}", [topics.SIGNALS_FEEDBACK], processor.each(_feedback)
)
ASSIGNMENTS = processor.events("assignments", INPUTS, learn_from_routing)


async def compare(
    database_url: str, into: str, live_schema: str = "intake"
) -> tuple[list[Difference], int]:
    """Every difference between the live signals and the rebuilt ones; and how many live
    signals were left out (anonymised, or accepted after the replay's last one)."""
    conn = await asyncpg.connect(database_url)
    try:
        last = await conn.fetchval(f"SELECT max(received_at) FROM {into}.signals")
        live = await conn.fetch(
            f"SELECT signal_id::text AS id, anonymised_at, {COMPARED} FROM {live_schema}.signals"
        )
        rebuilt = await conn.fetch(f"SELECT signal_id::text AS id, {COMPARED} FROM {into}.signals")
    finally:
        await conn.close()
    replayed = {r["id"]: tuple(r)[1:] for r in rebuilt}
    kept: dict[str, object] = {}
    left_out = 0
    for r in live:
        newer = r["id"] not in replayed and (last is None or r["received_at"] > last)
        if r["anonymised_at"] is not None or newer:
            replayed.pop(r["id"], None)
            left_out += 1
            continue
        kept[r["id"]] = tuple(r)[2:]
    return replaying.differences("signals", kept, replayed), left_out  # type: ignore[arg-type]
