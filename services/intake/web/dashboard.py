"""Intake's operator dashboard (Dutch): answers per partner and per day by aggregate over all
of them, refusal reasons in Dutch, the signals paged and filtered, kept current live."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import QueryParams

from contracts.signals import Categorie
from services.intake import dashboard_queries as queries
from wijkbus.auth import require_operator_page
from wijkbus.web import buurten, charts, dutch_reasons, dutch_time, live, paging
from wijkbus.web.dead_letters import dead_letter_page

router = APIRouter()
FILTERS = ("partner", "categorie", "buurt", "status", "street")
KEEP = (*FILTERS, "pagina", "bus")
live.add_live_route(
    router, "/dashboard/live", queries.FINGERPRINT, dependencies=[Depends(require_operator_page)]
)


@router.get(
    "/dashboard",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(require_operator_page)],
)
async def dashboard(request: Request) -> HTMLResponse:
    """Answers per partner and per day, refusal reasons, signals, dead letters."""
    filters, params = filters_of(request.query_params), request.query_params
    async with request.app.state.runtime.pool.acquire() as conn, paging.unknown_page_is_400():
        data = await queries.dashboard(conn, filters, params, request.app.state.intake.clock())
        data.update(await dead_letter_page(conn, params.get("bus")))
    return request.app.state.templates.TemplateResponse(
        request, "dashboard.html", {**data, **context(request, data)}
    )


def filters_of(params: QueryParams) -> queries.Filters:
    """The list's filters from the query string; 400 for a category there is not."""
    given = {name: (params.get(name) or "").strip() or None for name in FILTERS}
    if given["categorie"] and given["categorie"] not in {c.value for c in Categorie}:
        raise HTTPException(400, "onbekende waarde voor categorie")
    return queries.Filters(**given)


def context(request: Request, data: dict[str, Any]) -> dict[str, Any]:
    """The page's charts, words and links around what the database counted."""
    params = request.query_params
    counts, days = data["counts"], data["days"]
    who = params.get("partner") or "alle partners"
    known = buurten.names(request.app.state.settings.buurten_file)
    routing = request.app.state.settings.routing_pages_url
    return {
        "buurt_label": lambda code: buurten.label(code, known),
        "signal_href": lambda signal_id: routing_page(routing, "signalen", str(signal_id)),
        "street_href": lambda key: routing_page(routing, "straten", key),
        "title": "wijkbus intake",
        "logged_in": True,
        "partners": list(request.app.state.intake.partners),
        "categorieen": [c.value for c in Categorie],
        "filter_values": {name: params.get(name, "") for name in FILTERS},
        "refused_total": sum(r["refused"] for r in counts),
        "reasons": _in_dutch(data["reasons"]),
        "partner_chart": charts.stacked_bars(
            [(r["partner_id"], (r["accepted"], r["duplicate"], r["refused"])) for r in counts],
            series=("geaccepteerd", "dubbel", "geweigerd"),
            title="Antwoorden per partner",
            desc="Per partner het aantal geaccepteerde, dubbele en geweigerde events.",
        ),
        "day_chart": charts.line_chart(
            [dutch_time.day(d["day"].replace(tzinfo=dutch_time.AMSTERDAM)) for d in days],
            {
                "geaccepteerd": [d["accepted"] for d in days],
                "geweigerd": [d["refused"] for d in days],
            },
            title=f"Geaccepteerd en geweigerd per dag, {who}",
            desc=f"Per dag (Europe/Amsterdam) van de laatste {queries.DAYS} dagen het aantal"
            f" geaccepteerde en geweigerde events van {who}.",
        ),
        "page_link": lambda n: paging.link("/dashboard", params, KEEP, "signalen", pagina=n),
        "dead_letter_link": lambda n: paging.link(
            "/dashboard", params, KEEP, "onverwerkbaar", bus=n
        ),
        "live_path": "/dashboard/live",
        **live.updated(),
    }


def routing_page(routing: str | None, kind: str, key: str) -> str | None:
    """The address of a signal's or street's page at routing; None when routing's is unknown."""
    if routing is None:
        return None
    return f"{routing.rstrip('/')}/dashboard/{kind}/{quote(key, safe='')}"


def _in_dutch(rows: list[Any]) -> list[dict[str, Any]]:
    """Refusal groups by their Dutch wording: groups that read the same are one line."""
    merged: dict[str, dict[str, Any]] = {}
    for row in rows:
        said = f"{dutch_reasons.status(row['status'])}: {dutch_reasons.refusal(row['reason'])}"
        group = merged.setdefault(said, {"reason": said, "example": row["reason"], "n": 0})
        group["n"] += row["n"]
    return sorted(merged.values(), key=lambda g: (-g["n"], g["reason"]))
