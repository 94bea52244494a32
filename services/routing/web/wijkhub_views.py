"""What the wijkhub's pages show: the open advice and the hubs on the dashboard, one hub's page.

Only the hub page's 'vertrouwelijk' section holds personal data (the contact person, opened
from the vault for the operator); the advice, the hub list and the evaluation hold counts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from fastapi import Request

from services.routing.web import wijkhub_forms as forms
from services.routing.web.wijkhubs import evaluation_of
from services.routing.wijkhub import reading
from services.routing.wijkhub.dutch import day, moment, span
from wijkbus import auth
from wijkbus.vault import PersonErased, VaultError

STATUS = {"afgelopen": "afgelopen (de einddatum is voorbij)"}  # the others say themselves
DECISIONS = {"opened": "geopend", "extended": "verlengd", "closed": "gesloten"}


def zone_of(request: Request) -> ZoneInfo:
    """The municipality's zone, in which the pages write days and moments."""
    zone: ZoneInfo = request.app.state.routing.ruleset.zone
    return zone


def common(request: Request) -> dict[str, Any]:
    """What every wijkhub form needs: its token, the zone and the page's helpers."""
    token = auth.form_token(request, forms.FORM)
    zone = zone_of(request)
    return {
        "csrf_token": token,
        "zone": zone.key,
        "day": lambda at: day(at, zone),
        "moment": lambda at: moment(at, zone),
        "span": lambda a, b: span(a, b, zone),
        "status_nl": STATUS,
        "days": lambda hub: days(hub, zone),
    }


def days(hub: dict[str, Any], zone: ZoneInfo) -> str:
    """'1 december 2026 t/m 12 januari 2027': the first and last day the hub runs (ran)."""
    end: datetime = hub["ends_at"]
    if hub["closed_at"] is not None and hub["closed_at"] < end:
        end = hub["closed_at"]
    return f"{day(hub['starts_at'], zone)} t/m {day(end - timedelta(microseconds=1), zone)}"


async def dashboard_part(request: Request, conn: asyncpg.Connection) -> dict[str, Any]:
    """The dashboard's 'Advies wijkhub' and 'Wijkhubs' sections."""
    now = request.app.state.clock()
    ids = [r["hub_id"] for r in await reading.hubs(conn)]
    return {
        **common(request),
        "advice": await reading.advice_with_incidents(conn),
        "wijkhubs": [await reading.hub_view(conn, hub_id, now) for hub_id in ids],
        "registered_partners": list(request.app.state.routing.partners),
        "open_defaults": forms.defaults(now, zone_of(request)),
    }


async def hub_context(request: Request, hub_id: str) -> dict[str, Any] | None:
    """One hub's page: facts, decisions, the sealed contact, forms and the evaluation."""
    found = await evaluation_of(request, hub_id, None, None)
    if found is None:
        return None
    view, evaluation = found
    async with request.app.state.runtime.pool.acquire() as conn:
        decisions = await reading.decisions(conn, hub_id)
        contact = await _contact(request, conn, hub_id)
    from services.routing.wijkhub.report import render_fragment  # the report's own module

    return {
        **common(request),
        "title": f"wijkhub {view['address']}",
        "hub": view,
        "decisions": [
            {**dict(d), "kind_nl": DECISIONS.get(d["kind"], d["kind"])} for d in decisions
        ],
        "contact": contact,
        "may_extend": view["status"] in ("gepland", "lopend"),
        "may_close": view["status"] != "gesloten",
        "evaluation_html": render_fragment(view, evaluation, zone_of(request)),
    }


async def _contact(
    request: Request, conn: asyncpg.Connection, hub_id: str
) -> dict[str, str | None] | None:
    """The contact person from the vault; None when not kept, erased or not to be opened,
    and for an operator who does not decide on wijkhubs (a kijker or budgetbeheer)."""
    if not auth.has_role(await auth.actor(request), "gebiedsmanager"):
        return None
    try:
        contact: dict[str, str | None] = await request.app.state.wijkhubs.contact(conn, hub_id)
    except (LookupError, PersonErased, VaultError):
        return None
    return contact
