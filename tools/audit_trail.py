"""`wijkbus audit trail SIGNAL_ID`: everything that happened to one signal, across the services.

Each service tells its own part from what it keeps of its own events (`services.<name>.trail`):
intake's received events, hash-chained event log, its vault's read and erasure log; routing's
published events (its outbox, with the rule-set version and rule that chose each partner);
notify's deliveries and their attempts. The trail names partners, rules and outcomes; no
personal data, addresses or descriptions are in any of those sources, and none are added here.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass

import asyncpg

from services.intake import trail as intake_trail
from services.notify import trail as notify_trail
from services.routing import trail_steps as routing_trail
from wijkbus.trail import Step

__all__ = ["Schemas", "Step", "as_rows", "to_html", "to_json", "trail"]


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
        *await intake_trail.steps(conn, signal_id, schemas.intake),
        *await routing_trail.steps(conn, signal_id, schemas.routing),
        *await notify_trail.steps(conn, signal_id, schemas.notify),
    ]
    return sorted(steps, key=lambda s: s.at)


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
