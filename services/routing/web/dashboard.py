"""Routing's operator dashboard (Dutch)."""

from __future__ import annotations

from itertools import groupby

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from services.routing import queries
from services.routing.lifecycle import sla_state
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
    """Open assignments per partner with SLA state, streets, alerts, the rules and history."""
    now = request.app.state.clock()
    async with request.app.state.runtime.pool.acquire() as conn:
        data = await queries.dashboard(conn, now)
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
            "refresh": 10,
            "per_partner": per_partner,
            "late": sum(1 for r in open_rows if r["sla"] == "te laat"),
            "ruleset": request.app.state.routing.ruleset,
            **data,
        },
    )
