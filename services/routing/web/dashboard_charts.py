"""The dashboard's charts: incidents per week per categorie and per buurt, open against late
per partner, and the share taken up in time per week."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from services.routing import chart_data
from services.routing.web import buurten, charts
from wijkbus.partners import PartnerRegistry

SHOWN = 7  # buurten drawn by name; more would not fit the legend


async def dashboard_charts(
    conn: asyncpg.Connection,
    now: datetime,
    zone: ZoneInfo,
    per_partner: list[dict[str, Any]],
    names: Mapping[str, str],
    registry: PartnerRegistry,
) -> list[charts.Chart]:
    """The four charts, drawn from aggregates over all of routing's rows."""
    weeks, per_categorie = await chart_data.incidents_per_week(conn, now, zone, "categorie")
    _, per_code = await chart_data.incidents_per_week(conn, now, zone, "buurt")
    per_buurt = largest(
        {
            (buurten.buurt_name(names, code) if code else "buurt onbekend"): counts
            for code, counts in per_code.items()
        }
    )
    _, shares, judged = await chart_data.sla_per_week(conn, now, zone)
    labels = [charts.week_label(w) for w in weeks]
    partners = [
        (_name(registry, p["partner_id"]), int(p["open"]), int(p["late"])) for p in per_partner
    ]
    return [
        charts.stacked_bars(
            "per-categorie", "Meldingen per week, per categorie", labels, per_categorie
        ),
        charts.stacked_bars("per-buurt", "Meldingen per week, per buurt", labels, per_buurt),
        charts.paired_bars("open-te-laat", "Open en te laat, per partner", partners),
        charts.percent_line(
            "sla-per-week", "Op tijd opgepakt, per week van toewijzing", labels, shares, judged
        ),
    ]


def largest(series: dict[str, list[int]], shown: int = SHOWN) -> dict[str, list[int]]:
    """The `shown` series with the most in all; the rest summed as 'overige buurten'."""
    ranked = sorted(series, key=lambda name: (-sum(series[name]), name))
    kept = {name: series[name] for name in ranked[:shown]}
    rest = [series[name] for name in ranked[shown:]]
    if rest:
        kept["overige buurten"] = [sum(week) for week in zip(*rest, strict=True)]
    return kept


def _name(registry: PartnerRegistry, partner_id: str) -> str:
    found = registry.get(partner_id)
    return found.name if found else partner_id
