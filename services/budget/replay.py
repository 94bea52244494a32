"""Rebuild budget's state from its own published events into a scratch schema, and compare.

Budget takes no input from the bus (residents and operators reach it over HTTP), so its replay
answers the auditor's question "do budget's published events alone reproduce its state?".
`wijkbus replay budget --into SCHEMA [--until TIME]` reads budget.events from offset 0 up to the
end it had when the replay began (no consumer group), once per CloudEvent (the scratch schema's
inbox), and keeps a small projection of its own: per initiative its status (as budget stores
it), supporter count, funding rule and cost; per vote round the number of ballots cast.

Then every replayed initiative and round is compared with the live schema. What live has that
the replay has not seen yet (initiatives proposed, ballots cast after the replay's end) is left
out of the comparison and counted, not reported as a difference.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import asyncpg

from contracts import events as ev
from contracts import topics
from contracts.envelope import CloudEvent
from services.budget.domain.initiatives import Status
from wijkbus import processor, replaying
from wijkbus.replaying import Difference, Progress, Rebuilt, Replay, ReplayClock

MIGRATIONS = Path(__file__).parent / "replay_migrations"
INPUTS = [topics.BUDGET_EVENTS]


async def rebuild(
    database_url: str,
    bootstrap: str,
    into: str,
    *,
    partners: tuple[str, ...],
    until: datetime | None = None,
    live_schema: str = "budget",
    progress: Progress | None = None,
) -> Rebuilt:
    """Replay budget.events into the empty schema `into` (`partners` is not needed here)."""
    async with replaying.scratch(database_url, into, MIGRATIONS, live_schema) as pool:
        source = replaying.batches(bootstrap, INPUTS, progress)
        return await Replay(ReplayClock(), until).run(pool, [PROJECTION], source)


async def apply(conn: asyncpg.Connection, event: CloudEvent) -> None:
    """Apply one budget event to the replay's projection."""
    model = ev.BUDGET_EVENT_TYPES.get(event.type)
    if model is None:
        raise ValueError(f"unexpected event type {event.type!r} on {topics.BUDGET_EVENTS}")
    match model.model_validate(event.data):
        case ev.InitiativeProposed() as e:
            await _initiative(
                conn,
                e.initiative_id,
                e.buurt_code,
                status="voorgesteld",
                supporters=0,
                funding_rule=e.funding_rule,
                cost_cents=e.cost_cents,
            )
        case ev.InitiativeAdmitted() as e:
            await _initiative(conn, e.initiative_id, e.buurt_code, status="open")
        case ev.InitiativeDeclined() as e:
            await _initiative(conn, e.initiative_id, e.buurt_code, status="afgewezen")
        case ev.InitiativeSupported() as e:
            await _initiative(
                conn,
                e.initiative_id,
                e.buurt_code,
                supporters=e.supporters,
                funding_rule=e.funding_rule,
            )
        case ev.InitiativeSupportWithdrawn() as e:
            await _initiative(conn, e.initiative_id, e.buurt_code, supporters=e.supporters)
        case ev.InitiativeFunded() | ev.InitiativeNotFunded() as e:
            funded = isinstance(e, ev.InitiativeFunded)
            await _initiative(
                conn,
                e.initiative_id,
                e.buurt_code,
                status="gefinancierd" if funded else "niet-gefinancierd",
                supporters=e.supporters,
                funding_rule=e.funding_rule,
                cost_cents=e.cost_cents,
            )
        case ev.InitiativeWithdrawn() as e:
            # Budget deletes the supports of a withdrawn initiative (the pledges are released).
            await _initiative(
                conn, e.initiative_id, e.buurt_code, status="ingetrokken", supporters=0
            )
        case ev.BallotCast() as e:
            await conn.execute(
                "INSERT INTO rounds (round_id, ballots, last_cast_at) VALUES ($1, 1, $2)"
                " ON CONFLICT (round_id) DO UPDATE SET ballots = rounds.ballots + 1,"
                " last_cast_at = greatest(rounds.last_cast_at, EXCLUDED.last_cast_at)",
                e.round_id,
                e.cast_at,
            )
        case ev.BudgetYearClosed():
            pass  # the year's account is not part of this projection; its settlements are
        case ev.RoundDecided():
            pass  # a decision follows from the ballots, which are; it is not projected
        case other:
            raise ValueError(f"no replay step for {type(other).__name__}")


async def _initiative(
    conn: asyncpg.Connection,
    initiative_id: str,
    buurt_code: str,
    *,
    status: Status | None = None,
    supporters: int | None = None,
    funding_rule: str | None = None,
    cost_cents: int | None = None,
) -> None:
    # An event says only what it carries; None keeps what earlier events said.
    await conn.execute(
        "INSERT INTO initiatives AS i (initiative_id, buurt_code, status, supporters,"
        " funding_rule, cost_cents) VALUES ($1::uuid, $2, $3::text, coalesce($4::integer, 0),"
        " $5::text, $6::bigint) ON CONFLICT (initiative_id) DO UPDATE SET"
        " buurt_code = EXCLUDED.buurt_code, status = coalesce($3, i.status),"
        " supporters = coalesce($4, i.supporters), funding_rule = coalesce($5, i.funding_rule),"
        " cost_cents = coalesce($6, i.cost_cents)",
        initiative_id, buurt_code, status, supporters, funding_rule, cost_cents,
    )  # fmt: skip


async def compare(
    database_url: str, into: str, live_schema: str = "budget"
) -> tuple[list[Difference], int]:
    """Every difference between the replayed initiatives (status, supporters, rule, cost) and
    rounds (ballots) live and rebuilt; and how many live rows are newer than the replay."""
    conn = await asyncpg.connect(database_url)
    try:
        replayed = f"(SELECT initiative_id FROM {into}.initiatives)"
        live = await conn.fetch(
            "SELECT i.initiative_id::text AS id, i.status, (SELECT count(*)"
            f" FROM {live_schema}.supports s WHERE s.initiative_id = i.initiative_id) AS n,"
            f" i.funding_rule, i.cost_cents FROM {live_schema}.initiatives i"
            f" WHERE i.initiative_id IN {replayed}"
        )
        rebuilt = await conn.fetch(
            "SELECT initiative_id::text AS id, status, supporters AS n, funding_rule, cost_cents"
            f" FROM {into}.initiatives"
        )
        # Rule and cost too: only the proposal carries the cost, so a lost one shows.
        diffs = replaying.differences(
            "initiatives",
            {r["id"]: tuple(r)[1:] for r in live},
            {r["id"]: tuple(r)[1:] for r in rebuilt},
        )
        newer = await conn.fetchval(
            f"SELECT count(*) FROM {live_schema}.initiatives WHERE initiative_id NOT IN {replayed}"
        )
        ballot_diffs, later_ballots = await _ballots(conn, into, live_schema)
        return diffs + ballot_diffs, newer + later_ballots
    finally:
        await conn.close()


async def _ballots(
    conn: asyncpg.Connection, into: str, live_schema: str
) -> tuple[list[Difference], int]:
    # Rounds residents vote in (imported pabulib rounds have no municipality and no events);
    # a ballot cast after a round's last replayed one is newer than the replay, not missing.
    live = await conn.fetch(
        "SELECT r.round_id, x.round_id IS NOT NULL AS replayed,"
        " count(b.voter_id) FILTER (WHERE b.cast_at <= x.last_cast_at) AS seen,"
        " count(b.voter_id) FILTER (WHERE x.round_id IS NULL OR b.cast_at > x.last_cast_at)"
        f" AS later FROM {live_schema}.rounds r"
        f" LEFT JOIN {live_schema}.round_ballots b USING (round_id)"
        f" LEFT JOIN {into}.rounds x USING (round_id)"
        " WHERE r.municipality IS NOT NULL GROUP BY r.round_id, x.round_id"
    )
    rebuilt = await conn.fetch(f"SELECT round_id, ballots FROM {into}.rounds")
    diffs = replaying.differences(
        "ballots",
        {r["round_id"]: r["seen"] for r in live if r["replayed"]},
        {r["round_id"]: r["ballots"] for r in rebuilt},
    )
    return diffs, sum(r["later"] for r in live)


# The replay's own processor: budget consumes nothing live, so there is no live twin.
PROJECTION = processor.events("budget-events", INPUTS, processor.each(apply))
