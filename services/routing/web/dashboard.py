"""Routing's operator dashboard (Dutch)."""

from __future__ import annotations

from typing import Any, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import QueryParams

from contracts.signals import Categorie
from services.routing import queries, worklist
from services.routing.web import wijkhub_views
from services.routing.web.dashboard_charts import dashboard_charts
from services.routing.web.sparkline import sparkline
from wijkbus.auth import require_operator_page

router = APIRouter()
FILTERS = ("partner", "categorie", "buurt", "street", "status", "late")
LATE = {"ja": True, "nee": False}


@router.get(
    "/dashboard",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(require_operator_page)],
)
async def dashboard(request: Request) -> HTMLResponse:
    """Open assignments per partner with SLA state, streets, alerts, wijkhubs, rules, history."""
    return await page(request)


def filters_of(params: QueryParams) -> tuple[worklist.Filters, int]:
    """The list's filters and page from the query string; 400 naming a value that cannot be."""
    given = {name: (params.get(name) or "").strip() or None for name in (*FILTERS, "page")}
    problems = []
    if given["categorie"] and given["categorie"] not in {c.value for c in Categorie}:
        problems.append("categorie")
    status = given["status"] or "open"
    if status not in get_args(worklist.StatusFilter):
        problems.append("status")
    if given["late"] and given["late"] not in LATE:
        problems.append("late")
    number = given["page"] or "1"
    if not number.isdigit() or len(number) > 6:
        problems.append("page")
    if problems:
        raise HTTPException(400, f"onbekende waarde voor {', '.join(problems)}")
    filters = worklist.Filters(
        partner=given["partner"],
        categorie=given["categorie"],
        buurt=given["buurt"],
        straat=given["street"],
        status=status,  # type: ignore[arg-type]  # checked against StatusFilter above
        late=LATE.get(given["late"] or ""),
    )
    return filters, int(number)


def link(params: QueryParams, **changes: Any) -> str:
    """The dashboard's address with the list's current filters and `changes`."""
    kept = {name: params[name] for name in (*FILTERS, "page") if params.get(name)}
    kept.update({k: v for k, v in changes.items() if v is not None})
    return "/dashboard?" + urlencode(kept) + "#toewijzingen"


async def page(request: Request, status_code: int = 200, **extra: Any) -> HTMLResponse:
    """The dashboard, with `extra` for its templates (e.g. why a wijkhub form was refused)."""
    now, zone = request.app.state.clock(), request.app.state.routing.ruleset.zone
    filters, number = filters_of(request.query_params)
    # Read before the data: a change in between makes the live feed fetch the page again.
    live_state = await request.app.state.pulse.state(request)
    async with request.app.state.runtime.pool.acquire() as conn:
        data = await queries.dashboard(conn, now)
        totals = await worklist.totals(conn, now)
        listed = await worklist.page(conn, filters, now, number)
        choices = await worklist.choices(conn)
        wijkhubs = await wijkhub_views.dashboard_part(request, conn)
        drawn = await dashboard_charts(
            conn,
            now,
            zone,
            totals["per_partner"],
            request.app.state.buurten,
            request.app.state.partners,
        )
    for street in data["streets"]:
        street["sparkline"] = sparkline(
            street["per_day"], f"{street['street']}: meldingen per dag, laatste 90 dagen"
        )
    params = request.query_params
    return request.app.state.templates.TemplateResponse(
        request,
        "dashboard.html",
        {
            "title": "wijkbus routing",
            "logged_in": True,
            "charts": drawn,
            "updated_at": now,
            "live_state": live_state,
            **totals,
            "listed": listed,
            "filters": filters,
            "filter_values": {name: params.get(name, "") for name in FILTERS},
            "page_link": lambda n: link(params, page=n),
            "partner_link": lambda p: link(QueryParams({"partner": p})),
            "categorieen": [c.value for c in Categorie],
            **choices,
            "ruleset": request.app.state.routing.ruleset,
            **data,
            **wijkhubs,
            **extra,
        },
        status_code=status_code,
    )
