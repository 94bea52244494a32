"""Routing's operator dashboard (Dutch)."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from services.routing import queries
from services.routing.lifecycle import sla_state
from services.routing.web import wijkhub_views
from services.routing.web.sparkline import sparkline
from wijkbus.auth import require_operator_page

router = APIRouter()


@router.get(
    "/dashboard",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(require_operator_page)],
)
async def dashboard(request: Request) -> HTMLResponse:
    """Open assignments per partner with SLA state, streets, alerts, wijkhubs, rules, history."""
    return await page(request)


async def page(request: Request, status_code: int = 200, **extra: Any) -> HTMLResponse:
    """The dashboard, with `extra` for its templates (e.g. why a wijkhub form was refused)."""
    now = request.app.state.clock()
    async with request.app.state.runtime.pool.acquire() as conn:
        data = await queries.dashboard(conn, now)
        wijkhubs = await wijkhub_views.dashboard_part(request, conn)
    for street in data["streets"]:
        street["sparkline"] = sparkline(
            street["per_day"], f"{street['street']}: meldingen per dag, laatste 90 dagen"
        )
    open_rows = [
        {**dict(r), "sla": sla_state(r["acknowledge_by"], r["acknowledged_at"], now)}
        for r in data.pop("open")
    ]
    per_partner = [
        {"partner_id": partner, "assignments": list(rows)}
        for partner, rows in groupby(open_rows, key=lambda r: r["partner_id"])
    ]
    return request.app.state.templates.TemplateResponse(
        request,
        "dashboard.html",
        {
            "title": "wijkbus routing",
            "logged_in": True,
            # A half-filled wijkhub form must not be wiped: no refresh while advice awaits one.
            "refresh": None if wijkhubs["advice"] or extra else 10,
            "per_partner": per_partner,
            "late": sum(1 for r in open_rows if r["sla"] == "te laat"),
            "ruleset": request.app.state.routing.ruleset,
            **data,
            **wijkhubs,
            **extra,
        },
        status_code=status_code,
    )
