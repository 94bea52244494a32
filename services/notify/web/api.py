"""The subscriptions API: partners manage their own subscriptions, operators manage all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse

from services.notify import store
from services.notify.subscriptions import Refused, SubscriptionRequest, Subscriptions, view
from wijkbus import auth
from wijkbus.http import problem


@dataclass(frozen=True)
class Caller:
    """Who calls: a registered partner (`owner` is its id) or an operator (`owner` None)."""

    owner: str | None


def caller(request: Request) -> Caller:
    """The operator (token or login) or the partner whose API key the request bears; else 401."""
    return Caller(auth.partner_or_operator(request))


router = APIRouter(prefix="/api/v1", tags=["subscriptions"])


@router.post("/subscriptions", status_code=201, responses={400: {}, 401: {}})
async def create_subscription(
    body: SubscriptionRequest, request: Request, who: Caller = Depends(caller)
) -> Any:
    """Subscribe a callback to event types; answers the signing secret once."""
    subscriptions: Subscriptions = request.app.state.subscriptions
    try:
        created = await subscriptions.create(request.app.state.runtime.pool, body, who.owner)
    except Refused as refused:
        return problem(
            refused.status, refused.title, detail=refused.detail, errors=refused.errors or None
        )
    return JSONResponse(
        created,
        status_code=201,
        headers={"Location": f"/api/v1/subscriptions/{created['id']}"},
    )


@router.get("/subscriptions", responses={401: {}})
async def list_subscriptions(request: Request, who: Caller = Depends(caller)) -> list[Any]:
    """The caller's subscriptions (an operator's: all)."""
    async with request.app.state.runtime.pool.acquire() as conn:
        rows = await store.subscriptions(conn, who.owner)
    return [view(r) for r in rows]


@router.get("/subscriptions/{subscription_id}", responses={401: {}, 404: {}})
async def get_subscription(
    subscription_id: str, request: Request, who: Caller = Depends(caller)
) -> dict[str, Any]:
    """One subscription; 404 for anyone but its owner and operators."""
    async with request.app.state.runtime.pool.acquire() as conn:
        row = await store.subscription(conn, subscription_id, who.owner)
    if row is None:
        raise HTTPException(404, "no such subscription")
    return view(row)


@router.delete("/subscriptions/{subscription_id}", status_code=204, responses={401: {}, 404: {}})
async def delete_subscription(
    subscription_id: str, request: Request, who: Caller = Depends(caller)
) -> Response:
    """End a subscription; pending deliveries are cancelled, the delivery log is kept."""
    subscriptions: Subscriptions = request.app.state.subscriptions
    if not await subscriptions.delete(request.app.state.runtime.pool, subscription_id, who.owner):
        raise HTTPException(404, "no such subscription")
    return Response(status_code=204)
