"""Notify's operator dashboard (Dutch): totals over all deliveries, a chart per subscription,
attempts and dead deliveries paged and filtered, kept current over its own event stream."""

from __future__ import annotations

from typing import Any, get_args
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import QueryParams

from services.notify import dashboard_queries as queries
from services.notify.web import readable
from services.notify.web.deliveries import form_token
from wijkbus.auth import require_operator_page
from wijkbus.web import charts, live, paging
from wijkbus.web.dead_letters import dead_letter_page

router = APIRouter()
KEEP = ("abonnement", "uitkomst", "pagina", "dood", "bus")
STATES = ("afgeleverd", "wachtend", "mislukt, opnieuw", "niet af te leveren")
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
    """Per subscription: delivered, pending, failing and dead; attempts; dead letters."""
    filters, params = filters_of(request.query_params), request.query_params
    async with request.app.state.runtime.pool.acquire() as conn, paging.unknown_page_is_400():
        data = await queries.dashboard(conn, filters, params)
        data.update(await dead_letter_page(conn, params.get("bus")))
    return request.app.state.templates.TemplateResponse(
        request, "dashboard.html", {**context(request, data.pop("subscriptions")), **data}
    )


def filters_of(params: QueryParams) -> queries.Filters:
    """The lists' filters from the query string; 400 naming a value that cannot be."""
    subscription, outcome = params.get("abonnement") or None, params.get("uitkomst") or None
    if outcome is not None and outcome not in get_args(queries.Outcome):
        raise HTTPException(400, "onbekende waarde voor uitkomst")
    try:
        return queries.Filters(UUID(subscription) if subscription else None, outcome)  # type: ignore[arg-type]
    except ValueError as exc:
        raise HTTPException(400, "onbekende waarde voor abonnement") from exc


def context(request: Request, subs: list[Any]) -> dict[str, Any]:
    """The page's words, chart and links around the rows the database gave."""
    params = request.query_params
    bars = [(_label(s), (s["delivered"], s["pending"], s["failing"], s["dead"])) for s in subs]
    return {
        "title": "wijkbus notify",
        "logged_in": True,
        "subscriptions": [{**dict(s), "destination": readable.destination(s)} for s in subs],
        "chart": charts.stacked_bars(
            bars,
            series=STATES,
            title="Afleveringen per abonnement",
            desc="Per abonnement het aantal afgeleverde, wachtende, opnieuw te proberen en"
            " niet af te leveren berichten.",
        ),
        "now": request.app.state.clock(),
        "filter_values": {name: params.get(name, "") for name in KEEP},
        "subscription_link": lambda s: paging.link(
            "/dashboard", {"abonnement": str(s)}, KEEP, "pogingen"
        ),
        "attempt_link": lambda n: paging.link("/dashboard", params, KEEP, "pogingen", pagina=n),
        "dead_link": lambda n: paging.link("/dashboard", params, KEEP, "dead", dood=n),
        "dead_letter_link": lambda n: paging.link(
            "/dashboard", params, KEEP, "onverwerkbaar", bus=n
        ),
        "delivery_error": readable.delivery_error,
        "csrf_token": form_token(request),
        "live_path": "/dashboard/live",
        **live.updated(),
    }


def _label(sub: Any) -> str:
    return f"{str(sub['id'])[:8]} · {sub['owner_partner_id'] or 'operator'}"
