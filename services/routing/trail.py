"""One signal as routing knows it: where it is, and every step routing saw or took, in order.

Read from routing's own schema only: the incident as intake announced it (street level, no
address, description or person), the assignment, and routing's own log (the outbox) of what it
published about the signal — assigned with rule and version, escalated, taken up, finished.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.routing import queries


@dataclass(frozen=True)
class Step:
    """One thing that happened to the signal, in Dutch."""

    at: datetime
    what: str
    detail: str
    kind: str  # a stable name for the step, for pages and tests
    deadline: datetime | None = None  # by when the partner it went to must take it up


async def signal(conn: asyncpg.Connection, signal_id: str) -> dict[str, Any] | None:
    """The signal's assignment, street and steps; None when routing never heard of it."""
    incident = await conn.fetchrow(
        "SELECT i.street_key, i.categorie, i.observed_at, i.received_at, i.partner_id,"
        " n.street, n.city, n.buurt_code FROM street_incidents i LEFT JOIN LATERAL"
        " (SELECT min(street) AS street, min(city) AS city, min(buurt_code) AS buurt_code"
        " FROM street_counts c WHERE c.street_key = i.street_key) n ON true"
        " WHERE i.signal_id = $1",
        signal_id,
    )
    assignment = await queries.assignment(conn, signal_id)
    if incident is None and assignment is None:
        return None
    logged = await conn.fetch(
        "SELECT convert_from(value, 'UTF8') AS event FROM outbox WHERE key = $1 ORDER BY id",
        signal_id.encode(),
    )
    steps = [*_received(incident), *(_published(json.loads(r["event"])) for r in logged)]
    return {
        "signal_id": signal_id,
        "incident": dict(incident) if incident else None,
        "assignment": dict(assignment) if assignment else None,
        "steps": sorted(steps, key=lambda s: s.at),
    }


def _received(incident: asyncpg.Record | None) -> list[Step]:
    if incident is None:
        return []
    steps = [Step(incident["observed_at"], "waargenomen", "volgens de melder", "waargenomen")]
    if incident["received_at"] is not None:
        sender = incident["partner_id"] or "een partner"
        detail = f"{incident['categorie']}, gemeld door {sender}; door intake geaccepteerd"
        steps.append(Step(incident["received_at"], "ontvangen", detail, "ontvangen"))
    return steps


def _published(event: dict[str, Any]) -> Step:
    """A step from one of routing's own events about the signal."""
    data, kind = event.get("data") or {}, event["type"].rsplit(".", 1)[-1]
    at = datetime.fromisoformat(event["time"])
    due = datetime.fromisoformat(data["acknowledge_by"]) if data.get("acknowledge_by") else None
    if kind == "assigned":
        detail = (
            f"aan {data['partner_id']} door regel {data['rule_id']}"
            f" (regelset versie {data['ruleset_version']})"
        )
        if data.get("wijkhub_id"):
            detail += f", in de periode van wijkhub {data['wijkhub_id']}"
        return Step(at, "toegewezen", detail, kind, due)
    if kind == "escalated":
        detail = f"van {data['from_partner_id']} naar {data['to_partner_id']}: {data['reason']}"
        return Step(at, "opgeschaald", detail, kind, due)
    if kind == "acknowledged":
        return Step(at, "opgepakt", f"terugmelding van {data['partner_id']}", kind)
    if kind == "resolved":
        detail = f"terugmelding van {data['partner_id']}, uitkomst {data['outcome']}"
        return Step(at, "afgehandeld", detail, kind)
    return Step(at, kind, "", kind)
