"""Rebuild routing's projection from its input topics into a scratch schema, and compare.

`wijkbus replay routing --into SCHEMA [--until TIME]` reads wijkhubs.events, signals.accepted,
routing.events and signals.feedback, in that order, from offset 0 up to the end they had when the
replay began (without a consumer group, so the live service is not disturbed), and hands every
record to the same handlers the live service runs (`processors`, through the one
`wijkbus.processor.process`), exactly once per CloudEvent (the scratch schema has its own inbox),
a fetched batch at a time with the clock at the batch's latest event time. So windows, deadlines
and thresholds are judged as they were, to within one batch.
Nothing is published: the scratch schema's outbox is never relayed.

Three kinds of input are routing's own decisions, taken live at a moment of routing's clock, and
the replay applies them as recorded instead of taking them again: the wijkteam's hub decisions
(wijkhubs.events, first, so each signal falls in the hub it fell in live), the escalations
(routing.escalated on routing.events: the escalator fired a timer when its clock passed the
deadline, and a replay clock cannot know when that was), and which feedback live accepted
(`verdicts`). Each escalation goes through the statement the escalator runs
(`store.escalate_many`). routing.acknowledged and routing.resolved say which feedback live
accepted (its signal, partner, kind and received_at); routing.events' other types are derived
from the inputs and rebuilt, so they are skipped.

Escalations before feedback, and only the feedback live accepted, is exact. An escalation was
recorded only if the assignment was still toegewezen when the escalator took it
(`store.due_timers` locks it against the feedback handler): no opgepakt or afgehandeld had been
accepted before it, down the whole chain. So every feedback live accepted was judged against the
signal's last partner at its last step, as the replay judges it after all escalations. Feedback
live ignored changed nothing, and the replay leaves it out: whether it came before an escalation
or after one was routing's moment too (a chain that comes back to an earlier partner, whose
feedback intake took in the moment before it heard of the escalation away from them: live
ignored it; judged after all escalations it would be accepted). What the replay hands on it
judges again by the same rules, so an accepted feedback it would not accept shows as
a difference. Feedback live accepted just before the replay began, whose announcement the relay
had not yet put on routing.events, is left out too: run the replay when live has caught up.

When nobody is left to escalate to, the escalator publishes nothing: it only drops the timer.
So after the topics, the replay drops the timers that are due by `as_of` (default: `--until`,
else now: the live escalator runs every few seconds on the same clock) and have nobody left,
judged by `lifecycle.escalate` as the escalator judges them. It fires no other timer.

Then every incident and assignment of the replayed signals (with its partner and escalation
step), and every street count, is compared with the live schema. Live may have moved on while
the replay ran; what it handled after the replay's end is left out of the comparison, not
reported as a difference.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from contracts import topics
from services.routing.escalation import drop_exhausted
from services.routing.handlers import Routing
from services.routing.processors import decisions, escalations, processors
from services.routing.rule_parsing import parse_rules
from services.routing.verdicts import Accepted
from services.routing.wijkhub import comparison as hubs
from wijkbus import replaying
from wijkbus.replaying import Difference, Progress, Rebuilt, Replay, ReplayClock

HERE = Path(__file__).parent
INPUTS = [
    topics.WIJKHUBS_EVENTS,
    topics.SIGNALS_ACCEPTED,
    topics.ROUTING_EVENTS,
    topics.SIGNALS_FEEDBACK,
]


async def rebuild(
    database_url: str,
    bootstrap: str,
    into: str,
    *,
    partners: tuple[str, ...],
    until: datetime | None = None,
    as_of: datetime | None = None,
    live_schema: str = "routing",
    progress: Progress | None = None,
) -> Rebuilt:
    """Replay the input topics into the empty schema `into` with the live rule set; the timers
    with nobody left that are due by `as_of` (default: `until`, else now) end as live's did."""
    async with replaying.scratch(database_url, into, HERE / "migrations", live_schema) as pool:
        async with pool.acquire() as conn:
            latest = await conn.fetchrow(
                f"SELECT version, body FROM {live_schema}.rulesets ORDER BY seq DESC LIMIT 1"
            )
            if latest is None:
                raise ValueError(f"the live schema {live_schema} has no rule set")
            clock = ReplayClock()
            routing = Routing(parse_rules(latest["body"], partners), clock, partners)
            await routing.record_ruleset(conn)
        # INPUTS in order: the hubs first, so each signal falls in the hub it fell in live;
        # every signal before its escalations, and those before any feedback on it.
        source = replaying.batches(bootstrap, INPUTS, progress)
        accepted = Accepted()
        handlers = [
            decisions(),
            *processors(routing, accepted.only(routing.on_feedback)),
            escalations(accepted),
        ]
        # Signals and feedback are keyed by street and by signal: a partition's share never
        # touches another's rows, so the shares of a fetch are handled side by side.
        done = await Replay(clock, until).run(pool, handlers, source, ("signals", "feedback"))
        async with pool.acquire() as conn, conn.transaction():
            await drop_exhausted(conn, routing.ruleset, as_of or until or datetime.now(UTC))
        return done


async def compare(
    database_url: str, into: str, live_schema: str = "routing"
) -> tuple[list[Difference], int]:
    """Every difference between the replayed signals' state live and rebuilt; and how many
    live signals are newer than the replay (left out)."""
    conn = await asyncpg.connect(database_url)
    try:
        diffs: list[Difference] = []
        replayed = f"(SELECT signal_id FROM {into}.street_incidents)"
        for table, columns in (
            ("street_incidents", "street_key, categorie, observed_at"),
            (
                "assignments",
                "rule_id, ruleset_version, status, wijkhub_id, partner_id, escalation_step",
            ),
        ):
            live = await _rows(conn, live_schema, table, columns, replayed)
            rebuilt = await _rows(conn, into, table, columns, replayed)
            diffs += replaying.differences(table, live, rebuilt)  # type: ignore[arg-type]
        newer = await conn.fetch(
            f"SELECT street_key, categorie, count(*) AS n FROM {live_schema}.street_incidents"
            f" WHERE signal_id NOT IN {replayed} GROUP BY street_key, categorie"
        )
        later = {(r["street_key"], r["categorie"]): r["n"] for r in newer}
        live_counts = await _counts(conn, live_schema)
        rebuilt_counts = await _counts(conn, into)
        for street in sorted(live_counts.keys() | rebuilt_counts.keys()):
            expected = rebuilt_counts.get(street, 0) + later.get(street, 0)
            if live_counts.get(street, 0) != expected:
                found = live_counts.get(street, 0)
                diffs.append(Difference("street_counts", " ".join(street), found, expected))
        diffs += await hubs.differences(database_url, live_schema, into)
        return diffs, sum(later.values())
    finally:
        await conn.close()


async def _rows(
    conn: asyncpg.Connection, schema: str, table: str, columns: str, replayed: str
) -> dict[str, tuple[object, ...]]:
    rows = await conn.fetch(
        f"SELECT signal_id::text AS id, {columns} FROM {schema}.{table}"
        f" WHERE signal_id IN {replayed}"
    )
    return {r["id"]: tuple(r)[1:] for r in rows}


async def _counts(conn: asyncpg.Connection, schema: str) -> dict[tuple[str, str], int]:
    rows = await conn.fetch(f"SELECT street_key, categorie, count FROM {schema}.street_counts")
    return {(r["street_key"], r["categorie"]): r["count"] for r in rows}
