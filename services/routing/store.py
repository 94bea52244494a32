"""asyncpg queries for routing's schema."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from contracts.events import ResponderAssigned, SignalAccepted, SignalAcknowledged, SignalResolved
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


async def ruleset_history(conn: asyncpg.Connection, limit: int = 20) -> list[asyncpg.Record]:
    """Rule sets loaded, newest first."""
    return await conn.fetch(
        "SELECT version, municipality, loaded_at, loaded_by, diff FROM rulesets"
        " ORDER BY seq DESC LIMIT $1",
        limit,
    )


async def insert_assignment(conn: asyncpg.Connection, a: ResponderAssigned, rule: Rule) -> bool:
    """Store a new assignment with its chain and deadline timer; False when seen before."""
    # One statement (a data-modifying CTE): a rebuild replays every signal through here.
    inserted = await conn.fetchval(
        "WITH new AS (INSERT INTO assignments (signal_id, partner_id, categorie, street_key,"
        " buurt_code, ruleset_version, rule_id, assigned_at, acknowledge_by, chain, hours)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11)"
        " ON CONFLICT (signal_id) DO NOTHING RETURNING signal_id, acknowledge_by),"
        " timer AS (INSERT INTO escalation_timers (signal_id, due_at)"
        " SELECT signal_id, acknowledge_by FROM new WHERE acknowledge_by IS NOT NULL)"
        " SELECT count(*) FROM new",
        a.signal_id,
        a.partner_id,
        a.categorie.value,
        a.street_key,
        a.buurt_code,
        a.ruleset_version,
        a.rule_id,
        a.assigned_at,
        a.acknowledge_by,
        json.dumps([e.model_dump() for e in rule.escalation]),
        rule.hours,
    )
    return bool(inserted)


async def count_incident(conn: asyncpg.Connection, s: SignalAccepted) -> bool:
    """Keep the incident and add it to the street's all-time count; False when seen before."""
    inserted = await conn.fetchval(
        "WITH new AS (INSERT INTO street_incidents (signal_id, street_key, categorie, observed_at)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (signal_id) DO NOTHING RETURNING 1),"
        " counted AS (INSERT INTO street_counts (street_key, categorie, count, street, city,"
        " buurt_code) SELECT $2, $3, 1, $5, $6, $7 FROM new"
        " ON CONFLICT (street_key, categorie) DO UPDATE"
        " SET count = street_counts.count + 1, street = EXCLUDED.street, city = EXCLUDED.city,"
        " buurt_code = coalesce(EXCLUDED.buurt_code, street_counts.buurt_code))"
        " SELECT count(*) FROM new",
        s.signal_id,
        s.street_key,
        s.categorie.value,
        s.observed_at,
        s.street,
        s.city,
        s.buurt_code,
    )
    return bool(inserted)


@dataclass(frozen=True)
class Counted:
    """A newly counted incident: its street's counts per window, and its alerts' states."""

    windows: list[dict[str, int]]
    alerts: dict[str, bool]


async def record_incident(
    conn: asyncpg.Connection, s: SignalAccepted, windows: list[tuple[datetime, datetime]]
) -> Counted | None:
    """Count the incident (as count_incident) and return the street's incidents per categorie
    in each (after, up to and including] window, this one included; None when seen before.

    One round trip: a rebuild replays every signal through here, and round trips dominate.
    The alert states are read unlocked; `alert_states` locks them before any change.
    """
    if not windows:
        return Counted([], {}) if await count_incident(conn, s) else None
    # Only numbered placeholders are spliced in; every value is a bind parameter.
    filters = ", ".join(
        f"count(*) FILTER (WHERE observed_at > ${2 * i + 8} AND observed_at <= ${2 * i + 9})"
        for i in range(len(windows))
    )
    rows = await conn.fetch(
        "WITH new AS (INSERT INTO street_incidents (signal_id, street_key, categorie, observed_at)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (signal_id) DO NOTHING RETURNING 1),"
        " counted AS (INSERT INTO street_counts (street_key, categorie, count, street, city,"
        " buurt_code) SELECT $2, $3, 1, $5, $6, $7 FROM new"
        " ON CONFLICT (street_key, categorie) DO UPDATE"
        " SET count = street_counts.count + 1, street = EXCLUDED.street, city = EXCLUDED.city,"
        " buurt_code = coalesce(EXCLUDED.buurt_code, street_counts.buurt_code))"
        " SELECT (SELECT count(*) FROM new) AS new, (SELECT coalesce(json_object_agg("
        " threshold_id, active), '{}')::text FROM street_alerts WHERE street_key = $2) AS alerts,"
        " c.* FROM (SELECT 1) AS one LEFT JOIN"
        f" (SELECT categorie, {filters} FROM street_incidents WHERE street_key = $2"
        f" AND observed_at > ${2 * len(windows) + 8} GROUP BY categorie) AS c ON true",
        s.signal_id,
        s.street_key,
        s.categorie.value,
        s.observed_at,
        s.street,
        s.city,
        s.buurt_code,
        *(bound for window in windows for bound in window),
        min(after for after, _ in windows),
    )
    if not rows[0]["new"]:
        return None
    # The statement's snapshot predates its own insert: add this incident by hand.
    found = [
        {r["categorie"]: int(r[i + 3]) for r in rows if r["categorie"] and r[i + 3]}
        for i in range(len(windows))
    ]
    for counts, (after, upto) in zip(found, windows, strict=True):
        if after < s.observed_at <= upto:
            counts[s.categorie.value] = counts.get(s.categorie.value, 0) + 1
    return Counted(found, json.loads(rows[0]["alerts"]))


async def window_counts(
    conn: asyncpg.Connection, street_key: str, days: int, now: datetime
) -> dict[str, int]:
    """The street's incidents per categorie observed in the `days` days up to `now`."""
    rows = await conn.fetch(
        "SELECT categorie, count(*) AS n FROM street_incidents WHERE street_key = $1"
        " AND observed_at > $2 AND observed_at <= $3 GROUP BY categorie",
        street_key,
        now - timedelta(days=days),
        now,
    )
    return {r["categorie"]: int(r["n"]) for r in rows}


async def alert_states(conn: asyncpg.Connection, street_key: str) -> dict[str, bool]:
    """Which of the street's threshold alerts are active (locked for this transaction)."""
    rows = await conn.fetch(
        "SELECT threshold_id, active FROM street_alerts WHERE street_key = $1 FOR UPDATE",
        street_key,
    )
    return {r["threshold_id"]: r["active"] for r in rows}


async def set_alert(
    conn: asyncpg.Connection, street_key: str, threshold_id: str, active: bool, now: datetime
) -> int:
    """Record the alert's state; return how many times it has crossed so far."""
    crossings: int = await conn.fetchval(
        "INSERT INTO street_alerts (street_key, threshold_id, active, crossings, evaluated_at)"
        " VALUES ($1, $2, $3::boolean, $3::boolean::int, $4)"
        " ON CONFLICT (street_key, threshold_id) DO UPDATE"
        " SET crossings = street_alerts.crossings"
        " + (EXCLUDED.active AND NOT street_alerts.active)::int,"
        " active = EXCLUDED.active, evaluated_at = EXCLUDED.evaluated_at RETURNING crossings",
        street_key,
        threshold_id,
        active,
        now,
    )
    return crossings


async def record_crossing(conn: asyncpg.Connection, e: Any) -> None:
    """Keep a threshold crossing for the dashboard."""
    await conn.execute(
        "INSERT INTO threshold_crossings (street_key, threshold_id, window_days, counts, advice,"
        " crossed_at) VALUES ($1, $2, $3, $4::jsonb, $5, $6)",
        e.street_key,
        e.rule_id,
        e.window_days,
        json.dumps(e.counts),
        e.advice,
        e.crossed_at,
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


async def escalate(conn: asyncpg.Connection, overdue: Overdue, e: Escalated | None) -> None:
    """Hand the assignment to the next partner and move or end its timer."""
    if e is not None:
        await conn.execute(
            "UPDATE assignments SET partner_id = $2, acknowledge_by = $3, escalation_step = $4"
            " WHERE signal_id = $1 AND escalation_step = $5",
            overdue.signal_id,
            e.event.to_partner_id,
            e.due_at,
            e.step,
            overdue.step,
        )
    if e is None or e.due_at is None:
        await drop_timer(conn, overdue.signal_id)
    else:
        await conn.execute(
            "UPDATE escalation_timers SET due_at = $2 WHERE signal_id = $1",
            overdue.signal_id,
            e.due_at,
        )


async def drop_timer(conn: asyncpg.Connection, signal_id: str) -> None:
    """No more deadline for this signal (acknowledged, resolved or nobody left to escalate to)."""
    await conn.execute("DELETE FROM escalation_timers WHERE signal_id = $1", signal_id)


async def assignment_for_update(conn: asyncpg.Connection, signal_id: str) -> Assignment | None:
    """The signal's assignment, locked until the transaction ends."""
    row = await conn.fetchrow(
        "SELECT signal_id, partner_id, status, street_key, buurt_code FROM assignments"
        " WHERE signal_id = $1 FOR UPDATE",
        signal_id,
    )
    if row is None:
        return None
    return Assignment(
        row["signal_id"], row["partner_id"], row["status"], row["street_key"], row["buurt_code"]
    )


async def acknowledge(conn: asyncpg.Connection, e: SignalAcknowledged) -> None:
    """Mark the assignment opgepakt; its escalation timer stops."""
    await drop_timer(conn, e.signal_id)
    await conn.execute(
        "UPDATE assignments SET status = 'opgepakt', acknowledged_at = $2 WHERE signal_id = $1",
        e.signal_id,
        e.acknowledged_at,
    )


async def resolve(conn: asyncpg.Connection, e: SignalResolved) -> None:
    """Mark the assignment afgehandeld with its outcome; its escalation timer stops."""
    await drop_timer(conn, e.signal_id)
    await conn.execute(
        "UPDATE assignments SET status = 'afgehandeld', resolved_at = $2, outcome = $3"
        " WHERE signal_id = $1",
        e.signal_id,
        e.resolved_at,
        e.outcome,
    )


async def assignments(
    conn: asyncpg.Connection,
    *,
    partner: str | None,
    status: str | None,
    late: bool | None = None,
    now: datetime,
    limit: int,
) -> list[asyncpg.Record]:
    """Assignments, newest first, optionally of one partner, one status, late or not.

    Late: still open (not afgehandeld) and not acknowledged by its deadline, which passed
    before `now` — the assignments whose SLA state is "te laat" (lifecycle.sla_state).
    """
    return await conn.fetch(
        "SELECT signal_id, partner_id, categorie, street_key, buurt_code, ruleset_version,"
        " rule_id, status, assigned_at, acknowledge_by, acknowledged_at, resolved_at, outcome"
        " FROM assignments WHERE ($1::text IS NULL OR partner_id = $1)"
        " AND ($2::text IS NULL OR status = $2)"
        " AND ($3::boolean IS NULL OR $3 = (status <> 'afgehandeld'"
        " AND acknowledge_by IS NOT NULL AND coalesce(acknowledged_at, $4) > acknowledge_by))"
        " ORDER BY assigned_at DESC, signal_id LIMIT $5",
        partner,
        status,
        late,
        now,
        limit,
    )


async def street(
    conn: asyncpg.Connection, street_key: str, now: datetime, windows: Iterable[int]
) -> dict[str, Any] | None:
    """A street's all-time counts per categorie and those observed in each rolling window."""
    rows = await conn.fetch(
        "SELECT categorie, count, street, city, buurt_code FROM street_counts"
        " WHERE street_key = $1 ORDER BY categorie",
        street_key,
    )
    if not rows:
        return None
    counts = {r["categorie"]: int(r["count"]) for r in rows}
    first = rows[0]
    return {
        "street_key": street_key,
        "street": first["street"],
        "city": first["city"],
        "buurt_code": first["buurt_code"],
        "counts": counts,
        "total": sum(counts.values()),
        "windows": {
            str(days): await window_counts(conn, street_key, days, now) for days in windows
        },
    }


async def buurt(
    conn: asyncpg.Connection, buurt_code: str, now: datetime, windows: Iterable[int]
) -> dict[str, Any] | None:
    """A buurt's all-time counts per categorie and those observed in each rolling window."""
    rows = await conn.fetch(
        "SELECT categorie, sum(count)::bigint AS n FROM street_counts WHERE buurt_code = $1"
        " GROUP BY categorie ORDER BY categorie",
        buurt_code,
    )
    if not rows:
        return None
    counts = {r["categorie"]: int(r["n"]) for r in rows}
    found: dict[str, dict[str, int]] = {}
    for days in windows:
        recent = await conn.fetch(
            "SELECT i.categorie, count(*) AS n FROM street_incidents i"
            " JOIN (SELECT DISTINCT street_key FROM street_counts WHERE buurt_code = $1) s"
            " USING (street_key) WHERE i.observed_at > $2 AND i.observed_at <= $3"
            " GROUP BY i.categorie",
            buurt_code,
            now - timedelta(days=days),
            now,
        )
        found[str(days)] = {r["categorie"]: int(r["n"]) for r in recent}
    return {
        "buurt_code": buurt_code,
        "counts": counts,
        "total": sum(counts.values()),
        "windows": found,
    }


async def recent_streets(
    conn: asyncpg.Connection, now: datetime, limit: int = 25
) -> list[dict[str, Any]]:
    """Streets ranked by incidents observed in the last 30 (then 90) days, with daily counts."""
    since = now - timedelta(days=90)
    ranked = await conn.fetch(
        "WITH ranked AS (SELECT street_key, count(*) FILTER (WHERE observed_at > $2) AS last30,"
        " count(*) AS last90 FROM street_incidents WHERE observed_at > $1 AND observed_at <= $3"
        " GROUP BY street_key ORDER BY last30 DESC, last90 DESC, street_key LIMIT $4)"
        " SELECT r.street_key, r.last30, r.last90, n.street, n.city, n.buurt_code FROM ranked r"
        " JOIN LATERAL (SELECT min(street) AS street, min(city) AS city,"
        " min(buurt_code) AS buurt_code FROM street_counts c WHERE c.street_key = r.street_key)"
        " n ON true ORDER BY r.last30 DESC, r.last90 DESC, r.street_key",
        since,
        now - timedelta(days=30),
        now,
        limit,
    )
    keys = [r["street_key"] for r in ranked]
    days = await conn.fetch(
        "SELECT street_key, floor(extract(epoch FROM ($2 - observed_at)) / 86400)::int AS age,"
        " count(*) AS n FROM street_incidents WHERE street_key = ANY($1::text[])"
        " AND observed_at > $3 AND observed_at <= $2 GROUP BY street_key, age",
        keys,
        now,
        since,
    )
    per_day = {key: [0] * 90 for key in keys}
    for row in days:
        per_day[row["street_key"]][89 - min(row["age"], 89)] += int(row["n"])
    return [{**dict(r), "per_day": per_day[r["street_key"]]} for r in ranked]


async def alerts(conn: asyncpg.Connection, limit: int = 20) -> list[asyncpg.Record]:
    """The latest threshold crossings, with whether the street's alert is still active."""
    return await conn.fetch(
        "SELECT x.street_key, x.threshold_id, x.window_days, x.counts::text AS counts, x.advice,"
        " x.crossed_at, a.active, (SELECT min(street) FROM street_counts c"
        " WHERE c.street_key = x.street_key) AS street"
        " FROM threshold_crossings x LEFT JOIN street_alerts a USING (street_key, threshold_id)"
        " ORDER BY x.id DESC LIMIT $1",
        limit,
    )


async def dashboard(conn: asyncpg.Connection, now: datetime) -> dict[str, Any]:
    """What the operator dashboard shows: open assignments, streets, alerts, rules, dead letters."""
    return {
        "open": await conn.fetch(
            "SELECT signal_id, partner_id, categorie, street_key, rule_id, status, assigned_at,"
            " acknowledge_by, acknowledged_at FROM assignments WHERE status <> 'afgehandeld'"
            " ORDER BY partner_id, acknowledge_by NULLS LAST LIMIT 200"
        ),
        "by_status": await conn.fetch(
            "SELECT status, count(*) AS n FROM assignments GROUP BY status ORDER BY status"
        ),
        "streets": await recent_streets(conn, now),
        "alerts": await alerts(conn),
        "history": await ruleset_history(conn),
        "dead_letters": await conn.fetch(
            "SELECT id, consumer, topic, reason, attempts, created_at FROM dead_letters"
            " ORDER BY id DESC LIMIT 20"
        ),
    }


# In bulk: a partition's batch of accepted signals with one statement per step (bulk.py).


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
        "INSERT INTO street_incidents (signal_id, street_key, categorie, observed_at)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])"
        " ON CONFLICT (signal_id) DO NOTHING RETURNING signal_id",
        [s.signal_id for s in signals],
        [s.street_key for s in signals],
        [s.categorie.value for s in signals],
        [s.observed_at for s in signals],
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
        " buurt_code, ruleset_version, rule_id, assigned_at, acknowledge_by, chain, hours)"
        " SELECT u.signal_id, u.partner_id, u.categorie, u.street_key, u.buurt_code,"
        " u.ruleset_version, u.rule_id, u.assigned_at, u.acknowledge_by, u.chain::jsonb, u.hours"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
        " $7::text[], $8::timestamptz[], $9::timestamptz[], $10::text[], $11::text[])"
        " AS u(signal_id, partner_id, categorie, street_key, buurt_code, ruleset_version,"
        " rule_id, assigned_at, acknowledge_by, chain, hours)"
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
    )


async def set_alerts(
    conn: asyncpg.Connection, states: dict[tuple[str, str], tuple[bool, int]], now: datetime
) -> None:
    """Record alerts' (active, crossings) as evaluated at `now`; their rows are locked."""
    keys = sorted(states)
    await conn.execute(
        "INSERT INTO street_alerts (street_key, threshold_id, active, crossings, evaluated_at)"
        " SELECT u.*, $5 FROM unnest($1::text[], $2::text[], $3::boolean[], $4::int[]) AS u"
        " ON CONFLICT (street_key, threshold_id) DO UPDATE SET active = EXCLUDED.active,"
        " crossings = EXCLUDED.crossings, evaluated_at = EXCLUDED.evaluated_at",
        [k[0] for k in keys],
        [k[1] for k in keys],
        [states[k][0] for k in keys],
        [states[k][1] for k in keys],
        now,
    )
