"""Routing's part of a signal's trail (`wijkbus.trail`), for `wijkbus audit trail`: what
routing published about the signal (assignment, escalations, feedback)."""

from __future__ import annotations

import json
from datetime import datetime

import asyncpg

from wijkbus.trail import Step, schema_exists


async def steps(conn: asyncpg.Connection, signal_id: str, schema: str = "routing") -> list[Step]:
    """What routing published about the signal: its assignment, escalations and feedback."""
    if not await schema_exists(conn, schema):
        return []
    rows = await conn.fetch(
        f"SELECT convert_from(value, 'UTF8')::jsonb AS event FROM {schema}.outbox"
        " WHERE key = $1 ORDER BY id",
        signal_id.encode(),
    )
    steps = []
    for r in rows:
        event = json.loads(r["event"]) if isinstance(r["event"], str) else r["event"]
        data, kind = event.get("data", {}), event["type"].rsplit(".", 1)[-1]
        if kind == "assigned":
            what = "toegewezen"
            detail = (
                f"aan {data['partner_id']} door regel {data['rule_id']} van regelset"
                f" {data['ruleset_version']}; reageren vóór {data.get('acknowledge_by') or '-'}"
            )
            if data.get("wijkhub_id"):
                detail += f"; in de periode van wijkhub {data['wijkhub_id']}"
        elif kind == "escalated":
            what = "opgeschaald"
            detail = f"van {data['from_partner_id']} naar {data['to_partner_id']}: {data['reason']}"
        elif kind == "acknowledged":
            what, detail = "opgepakt", f"door {data['partner_id']}"
        elif kind == "resolved":
            what, detail = "afgehandeld", f"door {data['partner_id']}, uitkomst {data['outcome']}"
        else:
            what, detail = kind, ""
        steps.append(
            Step(
                datetime.fromisoformat(event["time"]), "routing", what, f"{detail} [{event['id']}]"
            )
        )
    return steps
