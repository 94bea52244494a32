"""`wijkbus audit trail SIGNAL_ID`: everything that happened to one signal, across the services.

Read from what each service keeps of its own events: intake's received events and hash-chained
event log, its vault's read and erasure log; routing's published events (its outbox, with the
rule-set version and rule that chose each partner); notify's deliveries and their attempts. The
trail names partners, rules and outcomes; no personal data, addresses or descriptions are in
any of those sources, and none are added here.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class Step:
    """One thing that happened to the signal."""

    at: datetime
    service: str
    what: str
    detail: str

    def as_json(self) -> dict[str, str]:
        return {**asdict(self), "at": self.at.isoformat()}


@dataclass(frozen=True)
class Schemas:
    intake: str = "intake"
    routing: str = "routing"
    notify: str = "notify"


async def trail(
    conn: asyncpg.Connection, signal_id: str, schemas: Schemas = Schemas()
) -> list[Step]:
    """The signal's steps in time order (empty when no service knows the signal)."""
    steps = [
        *await _intake(conn, signal_id, schemas.intake),
        *await _routing(conn, signal_id, schemas.routing),
        *await _notify(conn, signal_id, schemas.notify),
    ]
    return sorted(steps, key=lambda s: s.at)


async def _exists(conn: asyncpg.Connection, schema: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema))


async def _intake(conn: asyncpg.Connection, signal_id: str, schema: str) -> list[Step]:
    if not await _exists(conn, schema):
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


async def _routing(conn: asyncpg.Connection, signal_id: str, schema: str) -> list[Step]:
    if not await _exists(conn, schema):
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


async def _notify(conn: asyncpg.Connection, signal_id: str, schema: str) -> list[Step]:
    if not await _exists(conn, schema):
        return []
    rows = await conn.fetch(
        f"SELECT d.id, d.event_id, d.event_type, d.status, d.attempts, d.created_at,"
        f" d.finished_at, s.channel, coalesce(s.owner_partner_id, 'operator') AS owner,"
        f" s.id AS subscription_id"
        f" FROM {schema}.deliveries d JOIN {schema}.subscriptions s ON s.id = d.subscription_id"
        " WHERE convert_from(d.body, 'UTF8')::jsonb ->> 'subject' = $1 ORDER BY d.id",
        signal_id,
    )
    steps = []
    for r in rows:
        attempts = await conn.fetch(
            f"SELECT attempt, status_code, error, at FROM {schema}.delivery_attempts"
            " WHERE delivery_id = $1 ORDER BY attempt",
            r["id"],
        )
        tried = ", ".join(
            f"{a['attempt']}: {a['status_code'] or a['error'] or '-'}" for a in attempts
        )
        steps.append(
            Step(
                r["finished_at"] or r["created_at"],
                "notify",
                f"bezorging {r['status']}",
                f"{r['event_type'].rsplit('.', 1)[-1]} [{r['event_id']}] via {r['channel']}"
                f" aan {r['owner']} (abonnement {r['subscription_id']}); pogingen: {tried or '-'}",
            )
        )
    return steps


def to_json(signal_id: str, steps: list[Step]) -> str:
    return json.dumps({"signal_id": signal_id, "steps": [s.as_json() for s in steps]}, indent=2)


def to_html(signal_id: str, steps: list[Step]) -> str:
    rows = "\n".join(
        f"<tr><td>{html.escape(s.at.isoformat())}</td><td>{html.escape(s.service)}</td>"
        f"<td>{html.escape(s.what)}</td><td>{html.escape(s.detail)}</td></tr>"
        for s in steps
    )
    title = html.escape(f"Spoor van melding {signal_id}")
    return (
        f'<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>{title}</title>'
        "<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}"
        "td,th{border-bottom:1px solid #ccc;padding:.3rem .6rem;text-align:left}</style>"
        f"</head><body><h1>{title}</h1><table><thead><tr><th>Tijd (UTC)</th><th>Dienst</th>"
        f"<th>Wat</th><th>Details</th></tr></thead><tbody>\n{rows}\n</tbody></table></body></html>"
    )


def as_rows(steps: list[Step]) -> list[tuple[str, str, str, str]]:
    return [(s.at.isoformat(timespec="seconds"), s.service, s.what, s.detail) for s in steps]
