"""Intake's part of a signal's trail (`wijkbus.trail`): what it received, accepted and logged,
who asked for the sealed person, and what retention and erasure did."""

from __future__ import annotations

import json
from datetime import datetime

import asyncpg

from wijkbus.trail import Step, schema_exists


async def steps(conn: asyncpg.Connection, signal_id: str, schema: str = "intake") -> list[Step]:
    """Intake's steps of the signal (the schema may be a replay's)."""
    if not await schema_exists(conn, schema):
        return []
    steps = []
    received = await conn.fetch(
        f"SELECT partner_id, source, event_id, type, received_at FROM {schema}.received_events"
        " WHERE signal_id::text = $1 ORDER BY received_at",
        signal_id,
    )
    for r in received:
        steps.append(
            Step(
                r["received_at"],
                "intake",
                "ontvangen",
                f"{r['type']} van {r['partner_id']} (bron {r['source']}, id {r['event_id']})",
            )
        )
    logged = await conn.fetch(
        f"SELECT position, logged_at, convert_from(value, 'UTF8')::jsonb AS event"
        f" FROM {schema}.event_log WHERE signal_id::text = $1 AND value IS NOT NULL ORDER BY seq",
        signal_id,
    )
    subject_ref = None
    for r in logged:
        event = json.loads(r["event"]) if isinstance(r["event"], str) else r["event"]
        data = event.get("data", {})
        chain = f"ketenrij {r['position']}" if r["position"] else "nog niet in de keten"
        if event.get("subject") != signal_id:  # relabelled in the log: not this signal's step
            steps.append(
                Step(
                    r["logged_at"],
                    "intake",
                    "afwijking in het logboek",
                    f"{chain} staat op deze melding maar gaat over melding {event.get('subject')}"
                    " (signal_id gewijzigd?); zie wijkbus audit verify",
                )
            )
            continue
        if event["type"].endswith("signal-accepted"):
            subject_ref = data.get("subject_ref") or subject_ref
            what = "geaccepteerd"
            detail = (
                f"{data.get('categorie')} in {data.get('street')}, {data.get('city')}"
                f"{' (met verzegelde persoonsgegevens)' if data.get('has_person') else ''}; {chain}"
            )
        else:
            what = f"terugmelding {data.get('kind')}"
            outcome = f", uitkomst {data['outcome']}" if data.get("outcome") else ""
            detail = f"van {data.get('partner_id')}{outcome}; {chain}"
        steps.append(Step(datetime.fromisoformat(event["time"]), "intake", what, detail))
    for r in await conn.fetch(
        f"SELECT partner_id, outcome, at FROM {schema}.vault_reads WHERE signal_id = $1",
        signal_id,
    ):
        steps.append(
            Step(
                r["at"],
                "intake",
                "persoonsgegevens opgevraagd",
                f"door {r['partner_id'] or 'onbekend'}: {r['outcome']}",
            )
        )
    if await conn.fetchval("SELECT to_regclass($1)", f"{schema}.retention_log"):
        for r in await conn.fetch(
            f"SELECT at, action, reason FROM {schema}.retention_log WHERE signal_id::text = $1",
            signal_id,
        ):
            steps.append(Step(r["at"], "intake", r["action"], r["reason"]))
    if subject_ref:
        for r in await conn.fetch(
            f"SELECT erased_at, erased_by FROM {schema}.vault_erasures WHERE subject_ref = $1",
            subject_ref,
        ):
            steps.append(
                Step(
                    r["erased_at"],
                    "intake",
                    "persoonsgegevens vernietigd",
                    f"sleutel van de betrokkene vernietigd door {r['erased_by']}",
                )
            )
    return steps
