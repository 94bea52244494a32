"""Budget's operator dashboard (Dutch): participation per buurt as a chart, every count by
aggregate, initiatives and rounds paged (initiatives filtered), kept current live."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import QueryParams

from services.budget import round_forming, round_store, store
from wijkbus import auth
from wijkbus.auth import require_operator_page
from wijkbus.web import buurten, charts, dutch_time, live, paging

router = APIRouter()
FORM = "budget-dashboard-form"
"""The name the dashboard's forms derive their anti-CSRF token from."""
ADMIT_WEEKS = 4
STATUSES = ("voorgesteld", "open", "gefinancierd", "niet-gefinancierd", "afgewezen", "ingetrokken")
FILTERS = ("buurt", "status", "jaar")
KEEP = (*FILTERS, "pagina", "ronde")
RULES = {
    "pledge": "toezeggingen",
    "majority": "meerderheid",
    "vote": "stemronde",
    "greedy": "meeste stemmen eerst",
    "equalshares": "gelijke delen",
    "equalshares/add1": "gelijke delen",
}
"""Funding rules and a round's decision rules by the names the forms and residents use."""
live.add_live_route(
    router, "/dashboard/live", store.FINGERPRINT, dependencies=[Depends(require_operator_page)]
)


@router.get(
    "/dashboard",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(require_operator_page)],
)
async def dashboard(request: Request) -> HTMLResponse:
    """Households and participation per buurt, initiatives with support, years and rounds."""
    return await page(request)


async def page(request: Request, status: int = 200, **extra: Any) -> HTMLResponse:
    """The dashboard, with a refused form's problem beside its field when there is one."""
    filters, params = filters_of(request.query_params), request.query_params
    async with request.app.state.runtime.pool.acquire() as conn, paging.unknown_page_is_400():
        data = await store.dashboard(conn, filters, params)
        data["formable"] = await round_forming.formable(conn)
        results = {r["round_id"]: await round_store.round_results(conn, r["round_id"])
                   for r in data["rounds"]}  # fmt: skip
    context = {**data, **_context(request, data, results), **extra}
    return request.app.state.templates.TemplateResponse(
        request, "dashboard.html", context, status_code=status
    )


def _context(request: Request, data: dict[str, Any], results: Any) -> dict[str, Any]:
    """The forms' token and dates, the figures and links around the rows read."""
    today = request.app.state.budget.clock().astimezone(dutch_time.AMSTERDAM).date()
    known = buurten.names(request.app.state.settings.buurten_file)
    return {
        "title": "wijkbus buurtbudget",
        "logged_in": True,
        "results": results,
        "csrf_token": auth.form_token(request, FORM),
        "default_deadline": (today + timedelta(weeks=ADMIT_WEEKS)).isoformat(),
        "min_deadline": (today + timedelta(days=1)).isoformat(),
        "refused": None,
        **_figures(data, request.query_params, known),
        **live.updated(),
    }


def filters_of(params: QueryParams) -> store.Filters:
    """The initiative list's filters; 400 for a status or year there cannot be."""
    status, year = params.get("status") or None, params.get("jaar") or None
    if status is not None and status not in STATUSES:
        raise HTTPException(400, "onbekende waarde voor status")
    if year is not None and not (year.isdigit() and len(year) == 4):
        raise HTTPException(400, "onbekende waarde voor jaar")
    return store.Filters(params.get("buurt") or None, status, int(year) if year else None)


def _figures(data: dict[str, Any], params: QueryParams, known: dict[str, str]) -> dict[str, Any]:
    """The cards, the participation chart and the lists' links; a buurt by the name its
    register gave it, else by the one WIJKBUS_BUURTEN knows."""
    rows = data["buurten"]
    names = {**known, **{r["buurt_code"]: r["buurt_name"] for r in rows if r["buurt_name"]}}

    def buurt_label(code: str | None) -> str:
        return buurten.label(code, names)

    households = sum(b["households"] for b in rows)
    participating = sum(b["participating"] for b in rows)
    bars = [
        (buurt_label(b["buurt_code"]), round(100 * b["participating"] / b["households"], 1))
        for b in rows
        if b["households"]
    ]
    return {
        "households": households,
        "participating": participating,
        "participation": dutch_time.percent(participating, households),
        "statuses": STATUSES,
        "buurt_label": buurt_label,
        "rule_name": lambda rule: RULES.get(rule, rule or "—"),
        "filter_values": {name: params.get(name, "") for name in FILTERS},
        "participation_chart": charts.bar_chart(
            bars,
            title="Deelname per buurt (%)",
            desc="Per buurt het deel van de huishoudens dat dit jaar meedoet (steunt of stemt).",
            unit="%",
        ),
        "page_link": lambda n: paging.link("/dashboard", params, KEEP, "initiatieven", pagina=n),
        "round_link": lambda n: paging.link("/dashboard", params, KEEP, "rondes", ronde=n),
        "live_path": "/dashboard/live",
    }
