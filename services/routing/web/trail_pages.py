"""The operator's signal page (the signal's trail as routing saw it) and street page (all
partners' signals on one street over time, its windows, thresholds and advice history)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from services.routing import chart_data, street_history, trail
from services.routing.domain import Rule
from services.routing.streets import WINDOWS
from services.routing.web import charts
from wijkbus.auth import require_operator_page
from wijkbus.trail import Elsewhere, fetch_elsewhere

router = APIRouter(
    prefix="/dashboard", include_in_schema=False, dependencies=[Depends(require_operator_page)]
)


@router.get("/signalen/{signal_id}", response_class=HTMLResponse)
async def signal_page(signal_id: str, request: Request) -> HTMLResponse:
    """One signal: where it is, who responds by which rule, and every step in order."""
    state = await request.app.state.pulse.state(request)  # before the data, as the dashboard
    async with request.app.state.runtime.pool.acquire() as conn:
        found = await trail.signal(conn, signal_id)
    if found is not None and found["assignment"] is not None:
        found["rule"] = rule_in_force(request, found["assignment"])
    if found is not None:
        found["elsewhere"] = await elsewhere(request, signal_id)
    return _page(request, "signal.html", found, state, signal_id=signal_id)


async def elsewhere(request: Request, signal_id: str) -> list[Elsewhere]:
    """What intake (received, reads of the sealed person) and notify (deliveries) tell."""
    settings = request.app.state.settings
    services = {"intake": settings.intake_url, "notify": settings.notify_url}
    return await fetch_elsewhere(services, signal_id, settings.operator_token)


def rule_in_force(request: Request, assignment: dict[str, Any]) -> Rule | None:
    """The rule that assigned it, when its rule set is still the one in force."""
    ruleset = request.app.state.routing.ruleset
    if assignment["ruleset_version"] != ruleset.version:
        return None
    return next((r for r in ruleset.rules if r.id == assignment["rule_id"]), None)


@router.get("/straten/{street_key:path}", response_class=HTMLResponse)
async def street_page(
    street_key: str, request: Request, pagina: int = Query(1, ge=1, le=999_999)
) -> HTMLResponse:
    """One street: its signals from every partner (paged, newest first), counts per window,
    thresholds and advice."""
    now, zone = request.app.state.clock(), request.app.state.routing.ruleset.zone
    state = await request.app.state.pulse.state(request)
    async with request.app.state.runtime.pool.acquire() as conn:
        found = await street_history.street(conn, street_key, now, windows(request), pagina)
        weeks, series = await chart_data.incidents_per_week(
            conn, now, zone, "categorie", street_key
        )
    if found is not None:
        labels = [charts.week_label(w) for w in weeks]
        found["chart"] = charts.stacked_bars(
            "straat-per-week", "Meldingen per week in deze straat", labels, series
        )
    return _page(request, "street.html", found, state, street_key=street_key)


def windows(request: Request) -> list[int]:
    """The windows a street is counted in: the usual ones and those the thresholds use."""
    thresholds = request.app.state.routing.ruleset.thresholds
    return sorted({*WINDOWS, *(t.window_days for t in thresholds)})


def _page(
    request: Request, template: str, found: dict[str, Any] | None, state: str, **names: str
) -> HTMLResponse:
    """The page, its `state` for the live feed; 404 when routing knows nothing of it."""
    what = {"signal.html": "melding", "street.html": "straat"}[template]
    context = {
        "live_state": state,
        "title": f"wijkbus routing — {what}",
        "logged_in": True,
        "found": found,
        "updated_at": request.app.state.clock(),
        **names,
    }
    status = 200 if found is not None else 404
    return request.app.state.templates.TemplateResponse(request, template, context, status)
