"""Dead deliveries: list them and queue them again, over the API and from the dashboard."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request
from fastapi.responses import JSONResponse, RedirectResponse

from services.notify import store
from services.notify.web.api import Caller, caller, writer
from wijkbus import auth
from wijkbus.auth import require_operator_page
from wijkbus.http import problem

router = APIRouter()
# deliveries.id is a bigint: a larger id is no delivery (400 at the path, not a 500 in asyncpg).
DeliveryId = Annotated[int, Path(ge=1, le=2**63 - 1)]


FORM = "notify-dashboard-form"


def form_token(request: Request) -> str:
    """The dashboard's anti-CSRF form token (`wijkbus.auth.form_token` of its form)."""
    return auth.form_token(request, FORM)


async def _retry(request: Request, delivery_id: int, owner: str | None) -> str:
    async with request.app.state.runtime.pool.acquire() as conn, conn.transaction():
        return await store.retry_dead(conn, delivery_id, owner, request.app.state.clock())


@router.get("/api/v1/deliveries/dead", tags=["deliveries"], responses={401: {}})
async def list_dead(request: Request, who: Caller = Depends(caller)) -> list[dict[str, Any]]:
    """Dead deliveries of the caller's subscriptions (an operator's: all), newest first."""
    async with request.app.state.runtime.pool.acquire() as conn:
        rows = await store.dead_deliveries(conn, who.owner)
    return [
        {**dict(r), "subscription_id": str(r["subscription_id"]), "finished_at": _iso(r)}
        for r in rows
    ]


@router.post(
    "/api/v1/deliveries/{delivery_id}/retry",
    tags=["deliveries"],
    status_code=202,
    responses={400: {}, 401: {}, 404: {}, 409: {}},
)
async def retry_api(
    delivery_id: DeliveryId, request: Request, who: Caller = Depends(writer)
) -> Any:
    """Queue a dead delivery again with a fresh attempt budget."""
    outcome = await _retry(request, delivery_id, who.owner)
    if outcome == "unknown":
        raise HTTPException(404, "no such dead delivery")
    if outcome == "inactive":
        return problem(409, "subscription not active", detail="reactivate it by subscribing again")
    return JSONResponse({"id": delivery_id, "status": "pending"}, status_code=202)


@router.post(
    "/dashboard/deliveries/{delivery_id}/retry",
    include_in_schema=False,
    dependencies=[Depends(require_operator_page), Depends(auth.requires())],
)
async def retry_form(
    delivery_id: DeliveryId, request: Request, csrf_token: str = Form("")
) -> RedirectResponse:
    """The dashboard's retry button; a cookie alone is not enough, the form token must match."""
    auth.require_form_token(request, csrf_token, FORM)
    await _retry(request, delivery_id, None)
    return RedirectResponse("/dashboard#dead", status_code=303)


def _iso(row: Any) -> str | None:
    return row["finished_at"].isoformat() if row["finished_at"] else None
