"""Routing's write side: the statements its handlers and escalator run, set-based per batch."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from contracts.events import (
    ResponderAssigned,
    SignalAccepted,
    SignalAcknowledged,
    SignalResolved,
    StreetThresholdCrossed,
)
from services.routing.domain import Escalation, Rule, RuleSet
from services.routing.lifecycle import Assignment, Escalated, Overdue


class RuleSetConflict(RuntimeError):
    """A rule set reuses a stored version with different rules: audits could no longer trust it."""


async def save_ruleset(
    conn: asyncpg.Connection,
    ruleset: RuleSet,
    now: datetime,
    *,
    loaded_by: str = "startup",
    diff: str = "",
) -> bool:
    """Keep the rule set's text under its version; True when the version is new."""
    inserted = await conn.fetchval(
        "INSERT INTO rulesets (version, municipality, body, loaded_at, loaded_by, diff)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (version) DO NOTHING RETURNING true",
        ruleset.version,
        ruleset.municipality,
        ruleset.text,
        now,
        loaded_by,
        diff,
    )
    if inserted:
        return True
    stored = await conn.fetchval("SELECT body FROM rulesets WHERE version = $1", ruleset.version)
    if stored != ruleset.text:
        raise RuleSetConflict(
            f"routing rule set version {ruleset.version!r} is already stored with different "
            "rules; give the changed rules a new version"
        )
    return False


async def lock_rules(conn: asyncpg.Connection) -> None:
    """Serialise rule set uploads (across instances) until the transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('routing:rulesets'))")


async def latest_ruleset(conn: asyncpg.Connection) -> asyncpg.Record | None:
    """The most recently loaded rule set (the one in force)."""
    return await conn.fetchrow("SELECT version, body FROM rulesets ORDER BY seq DESC LIMIT 1")


async def record_crossings(
    conn: asyncpg.Connection, crossed: list[StreetThresholdCrossed], ruleset: RuleSet
) -> None:
    """Keep threshold crossings for the dashboard, in order, and whether each advises a hub."""
    if not crossed:
        return
    await conn.execute(
        "INSERT INTO threshold_crossings (street_key, threshold_id, window_days, counts, advice,"
        " crossed_at, wijkhub) SELECT u.street_key, u.threshold_id, u.window_days,"
        " u.counts::jsonb, u.advice, u.crossed_at, u.wijkhub FROM unnest($1::text[], $2::text[],"
        " $3::int[], $4::text[], $5::text[], $6::timestamptz[], $7::boolean[]) WITH ORDINALITY"
        " AS u(street_key, threshold_id, window_days, counts, advice, crossed_at, wijkhub, n)"
        " ORDER BY u.n",
        [e.street_key for e in crossed],
        [e.rule_id for e in crossed],
        [e.window_days for e in crossed],
        [json.dumps(e.counts) for e in crossed],
        [e.advice for e in crossed],
        [e.crossed_at for e in crossed],
        [ruleset.threshold(e.rule_id).wijkhub for e in crossed],
    )


async def due_timers(conn: asyncpg.Connection, now: datetime, limit: int) -> list[Overdue]:
    """Overdue unacknowledged assignments, locked; rows another instance holds are skipped."""
    rows = await conn.fetch(
        "SELECT a.signal_id, a.partner_id, a.rule_id, a.escalation_step, a.chain, a.hours,"
        " a.street_key, a.buurt_code FROM escalation_timers t JOIN assignments a USING (signal_id)"
        " WHERE t.due_at <= $1 AND a.status = 'toegewezen'"
        " ORDER BY t.due_at, t.signal_id LIMIT $2 FOR UPDATE OF t, a SKIP LOCKED",
        now,
        limit,
    )
    return [
        Overdue(
            r["signal_id"],
            r["partner_id"],
            r["rule_id"],
            r["escalation_step"],
            tuple(Escalation.model_validate(e) for e in json.loads(r["chain"])),
            r["hours"],
            r["street_key"],
            r["buurt_code"],
        )
        for r in rows
    ]


async def escalate_many(
    conn: asyncpg.Connection, escalated: Sequence[Escalated], ended: Sequence[str] = ()
) -> None:
    """Hand each assignment to its next partner, unless it moved on meanwhile, and move its
    timer; drop the timers of `ended` (nobody left to escalate to). One statement per table.

    The escalator gives each signal at most once; a replay's batch may hold several steps of one
    signal's chain, in order: the last one wins, taken from the step before the first.
    """
    last: dict[str, Escalated] = {}
    since: dict[str, int] = {}
    for e in escalated:
        since.setdefault(e.event.signal_id, e.step - 1)
        last[e.event.signal_id] = e
    moved = list(last.values())
    if moved:
        await conn.execute(
            "UPDATE assignments a SET partner_id = u.partner_id, acknowledge_by = u.due_at,"
            " escalation_step = u.step FROM unnest($1::text[], $2::text[], $3::timestamptz[],"
            " $4::int[], $5::int[]) AS u(signal_id, partner_id, due_at, step, since)"
            " WHERE a.signal_id = u.signal_id AND a.escalation_step = u.since",
            [e.event.signal_id for e in moved],
            [e.event.to_partner_id for e in moved],
            [e.due_at for e in moved],
            [e.step for e in moved],
            [since[e.event.signal_id] for e in moved],
        )
    timed = [e for e in moved if e.due_at is not None]
    if timed:
        await conn.execute(
            "UPDATE escalation_timers t SET due_at = u.due_at"
            " FROM unnest($1::text[], $2::timestamptz[]) AS u(signal_id, due_at)"
            " WHERE t.signal_id = u.signal_id",
            [e.event.signal_id for e in timed],
            [e.due_at for e in timed],
        )
    dropped = [*ended, *(e.event.signal_id for e in moved if e.due_at is None)]
    if dropped:
        await conn.execute(
            "DELETE FROM escalation_timers WHERE signal_id = ANY($1::text[])", dropped
        )


async def assignments_for_update(
    conn: asyncpg.Connection, signal_ids: list[str]
) -> dict[str, Assignment]:
    """The signals' assignments, locked until the transaction ends (in signal id order)."""
    rows = await conn.fetch(
        "SELECT signal_id, partner_id, status, street_key, buurt_code FROM assignments"
        " WHERE signal_id = ANY($1::text[]) ORDER BY signal_id FOR UPDATE",
        signal_ids,
    )
    return {
        r["signal_id"]: Assignment(
            r["signal_id"], r["partner_id"], r["status"], r["street_key"], r["buurt_code"]
        )
        for r in rows
    }


async def acknowledge_many(conn: asyncpg.Connection, done: list[SignalAcknowledged]) -> None:
    """Mark the assignments opgepakt; their escalation timers stop."""
    if not done:
        return
    ids = [e.signal_id for e in done]
    await conn.execute("DELETE FROM escalation_timers WHERE signal_id = ANY($1::text[])", ids)
    await conn.execute(
        "UPDATE assignments a SET status = 'opgepakt', acknowledged_at = u.at"
        " FROM unnest($1::text[], $2::timestamptz[]) AS u(signal_id, at)"
        " WHERE a.signal_id = u.signal_id",
        ids,
        [e.acknowledged_at for e in done],
    )


async def resolve_many(conn: asyncpg.Connection, done: list[SignalResolved]) -> None:
    """Mark the assignments afgehandeld with their outcomes; their escalation timers stop."""
    if not done:
        return
    ids = [e.signal_id for e in done]
    await conn.execute("DELETE FROM escalation_timers WHERE signal_id = ANY($1::text[])", ids)
    await conn.execute(
        "UPDATE assignments a SET status = 'afgehandeld', resolved_at = u.at, outcome = u.outcome"
        " FROM unnest($1::text[], $2::timestamptz[], $3::text[]) AS u(signal_id, at, outcome)"
        " WHERE a.signal_id = u.signal_id",
        ids,
        [e.resolved_at for e in done],
        [e.outcome for e in done],
    )


async def stored_window_counts(
    conn: asyncpg.Connection, windows: list[tuple[str, datetime, datetime]]
) -> list[dict[str, int]]:
    """For each (street, after, upto) window: the incidents stored so far per categorie
    observed in (after, upto], in the order given."""
    rows = await conn.fetch(
        "SELECT w.n, i.categorie, count(*) AS c FROM unnest($1::text[], $2::timestamptz[],"
        " $3::timestamptz[]) WITH ORDINALITY AS w(street_key, after, upto, n)"
        " JOIN street_incidents i ON i.street_key = w.street_key"
        " AND i.observed_at > w.after AND i.observed_at <= w.upto GROUP BY w.n, i.categorie",
        [street for street, _, _ in windows],
        [after for _, after, _ in windows],
        [upto for _, _, upto in windows],
    )
    found: list[dict[str, int]] = [{} for _ in windows]
    for r in rows:
        found[r["n"] - 1][r["categorie"]] = int(r["c"])
    return found


async def alert_states_many(
    conn: asyncpg.Connection, street_keys: list[str], *, lock: bool = False
) -> dict[str, dict[str, tuple[bool, int]]]:
    """Per street: each threshold alert's (active, crossings); with `lock`, locked until commit."""
    rows = await conn.fetch(
        "SELECT street_key, threshold_id, active, crossings FROM street_alerts"
        " WHERE street_key = ANY($1::text[]) ORDER BY street_key, threshold_id"
        + (" FOR UPDATE" if lock else ""),
        street_keys,
    )
    found: dict[str, dict[str, tuple[bool, int]]] = {}
    for r in rows:
        found.setdefault(r["street_key"], {})[r["threshold_id"]] = (r["active"], r["crossings"])
    return found


async def insert_incidents(conn: asyncpg.Connection, signals: list[SignalAccepted]) -> set[str]:
    """Keep the incidents (distinct signal ids); return the ids of those not seen before."""
    rows = await conn.fetch(
        "INSERT INTO street_incidents (signal_id, street_key, categorie, observed_at,"
        " received_at, partner_id) SELECT * FROM unnest($1::text[], $2::text[], $3::text[],"
        " $4::timestamptz[], $5::timestamptz[], $6::text[])"
        " ON CONFLICT (signal_id) DO NOTHING RETURNING signal_id",
        [s.signal_id for s in signals],
        [s.street_key for s in signals],
        [s.categorie.value for s in signals],
        [s.observed_at for s in signals],
        [s.received_at for s in signals],
        [s.partner_id for s in signals],
    )
    return {r["signal_id"] for r in rows}


async def add_counts(conn: asyncpg.Connection, signals: list[SignalAccepted]) -> None:
    """Add new incidents, in order, to their streets' all-time counts (as count_incident does)."""
    added: dict[tuple[str, str], list[Any]] = {}
    for s in signals:
        row = added.setdefault((s.street_key, s.categorie.value), [0, s.street, s.city, None])
        # The latest signal names the street; the latest known buurt code is kept.
        row[0] += 1
        row[1], row[2], row[3] = s.street, s.city, s.buurt_code or row[3]
    keys = sorted(added)
    await conn.execute(
        "INSERT INTO street_counts (street_key, categorie, count, street, city, buurt_code)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[],"
        " $6::text[]) ON CONFLICT (street_key, categorie) DO UPDATE"
        " SET count = street_counts.count + EXCLUDED.count, street = EXCLUDED.street,"
        " city = EXCLUDED.city,"
        " buurt_code = coalesce(EXCLUDED.buurt_code, street_counts.buurt_code)",
        [k[0] for k in keys],
        [k[1] for k in keys],
        *([added[k][i] for k in keys] for i in range(4)),
    )


async def insert_assignments(
    conn: asyncpg.Connection, assigned: list[tuple[ResponderAssigned, Rule]]
) -> None:
    """Store new assignments with their chains and deadline timers (as insert_assignment does)."""
    chains: dict[str, str] = {}
    for _, rule in assigned:
        if rule.id not in chains:
            chains[rule.id] = json.dumps([e.model_dump() for e in rule.escalation])
    await conn.execute(
        "WITH new AS (INSERT INTO assignments (signal_id, partner_id, categorie, street_key,"
        " buurt_code, ruleset_version, rule_id, assigned_at, acknowledge_by, chain, hours,"
        " wijkhub_id) SELECT u.signal_id, u.partner_id, u.categorie, u.street_key, u.buurt_code,"
        " u.ruleset_version, u.rule_id, u.assigned_at, u.acknowledge_by, u.chain::jsonb, u.hours,"
        " u.wijkhub_id FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],"
        " $6::text[], $7::text[], $8::timestamptz[], $9::timestamptz[], $10::text[], $11::text[],"
        " $12::text[]) AS u(signal_id, partner_id, categorie, street_key, buurt_code,"
        " ruleset_version, rule_id, assigned_at, acknowledge_by, chain, hours, wijkhub_id)"
        " ON CONFLICT (signal_id) DO NOTHING RETURNING signal_id, acknowledge_by)"
        " INSERT INTO escalation_timers (signal_id, due_at)"
        " SELECT signal_id, acknowledge_by FROM new WHERE acknowledge_by IS NOT NULL",
        [a.signal_id for a, _ in assigned],
        [a.partner_id for a, _ in assigned],
        [a.categorie.value for a, _ in assigned],
        [a.street_key for a, _ in assigned],
        [a.buurt_code for a, _ in assigned],
        [a.ruleset_version for a, _ in assigned],
        [a.rule_id for a, _ in assigned],
        [a.assigned_at for a, _ in assigned],
        [a.acknowledge_by for a, _ in assigned],
        [chains[rule.id] for _, rule in assigned],
        [rule.hours for _, rule in assigned],
        [a.wijkhub_id for a, _ in assigned],
    )


async def set_alerts(
    conn: asyncpg.Connection,
    states: dict[tuple[str, str], tuple[bool, int]],
    now: datetime,
    *,
    new: set[tuple[str, str]],
) -> bool:
    """Record alerts' (active, crossings) as evaluated at `now`: update the locked rows, insert
    those in `new`; False when one of those exists after all (created by another transaction)."""
    existing = [k for k in sorted(states) if k not in new]
    if existing:
        await conn.execute(
            "UPDATE street_alerts a SET active = u.active, crossings = u.crossings,"
            " evaluated_at = $5 FROM unnest($1::text[], $2::text[], $3::boolean[], $4::int[])"
            " AS u(street_key, threshold_id, active, crossings)"
            " WHERE a.street_key = u.street_key AND a.threshold_id = u.threshold_id",
            *_alert_columns(existing, states),
            now,
        )
    created = sorted(new)
    if not created:
        return True
    # No lock could hold a row that did not exist yet: a concurrent insert of the same alert
    # makes this one wait for it and then insert nothing.
    inserted = await conn.fetch(
        "INSERT INTO street_alerts (street_key, threshold_id, active, crossings, evaluated_at)"
        " SELECT u.*, $5 FROM unnest($1::text[], $2::text[], $3::boolean[], $4::int[]) AS u"
        " ON CONFLICT (street_key, threshold_id) DO NOTHING RETURNING 1",
        *_alert_columns(created, states),
        now,
    )
    return len(inserted) == len(created)


def _alert_columns(
    keys: list[tuple[str, str]], states: dict[tuple[str, str], tuple[bool, int]]
) -> tuple[list[str], list[str], list[bool], list[int]]:
    return (
        [k[0] for k in keys],
        [k[1] for k in keys],
        [states[k][0] for k in keys],
        [states[k][1] for k in keys],
    )
