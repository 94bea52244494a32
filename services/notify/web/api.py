"""The subscriptions API: partners manage their own subscriptions, operators manage all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse

from services.notify import store
from services.notify.subscription_requests import SubscriptionRequest
from services.notify.subscriptions import Refused, Subscriptions, view
from wijkbus import auth
from wijkbus.http import problem


@dataclass(frozen=True)
class Caller:
    """Who calls: a registered partner (`owner` is its id) or an operator (`owner` None)."""

    owner: str | None


async def caller(request: Request) -> Caller:
    """The operator (token or login) or the partner whose API key the request bears; else 401."""
    return Caller(await auth.partner_or_operator(request))


async def writer(request: Request) -> Caller:
    """As `caller`, for a change: of the operators only a beheerder may make it (else 403)."""
    return Caller(await auth.partner_or_beheerder(request))


router = APIRouter(prefix="/api/v1", tags=["subscriptions"])

WEBHOOK_DELIVERY = """Subscribe a callback (or a mailbox) to event types; a webhook's answer
carries its `signing_secret` once (`whsec_` and base64), never shown again.

Each webhook POST is one CloudEvent (`application/cloudevents+json`), or with `batch` a JSON
array of them (`application/cloudevents-batch+json`, under a `webhook-id` of the batch's own),
with the `Authorization` value registered here, signed twice with the subscription's signing
secret:

- Standard Webhooks (https://www.standardwebhooks.com/): `webhook-id`, `webhook-timestamp`
  (Unix seconds of this attempt) and `webhook-signature: v1,<base64 HMAC-SHA256 of
  "{webhook-id}.{webhook-timestamp}.{body}">`, keyed with the bytes the base64 after `whsec_`
  encodes: give the `signing_secret` as it is to any Standard Webhooks library. It rejects a
  timestamp more than 5 minutes off, so a captured request cannot be replayed later.
  `webhook-id` is the same on every retry of one event to one subscription: de-duplicate on it.
  A secret issued before these headers used base64's URL-safe alphabet: after `whsec_`,
  replace `-` by `+` and `_` by `/` before handing it to a library (the key stays the same).
- `wijkbus-signature: sha256=<hex HMAC-SHA256 of the body>`, keyed with the whole
  `signing_secret` string as UTF-8 (`whsec_` included).

2xx is delivered; 410 ends the subscription; 429 waits `Retry-After`, but never less than the
normal backoff; anything else retries with exponential backoff, then the delivery is dead.
A batch is delivered or retried as a whole: 2xx delivers every event in it, any other answer
sends the same batch again. Deliveries of one `subject` arrive in order; up to `max_in_flight`
requests are in flight to one subscription at once.
"""
BAD_SUBSCRIPTION = (
    "problem+json: invalid fields, a failed test delivery, or a subscription that can never"
    " match (a type prefix no delivered type starts with, or whose events never carry a field"
    " a filter needs; a partner's own subscription hears only events that name that partner,"
    " so e.g. nl.wijkaanpak.wijkhub.advised, which names no partner, is refused)"
)


@router.post(
    "/subscriptions",
    status_code=201,
    responses={400: {"description": BAD_SUBSCRIPTION}, 401: {}},
    description=WEBHOOK_DELIVERY,
)
async def create_subscription(
    body: SubscriptionRequest, request: Request, who: Caller = Depends(writer)
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
    subscription_id: str, request: Request, who: Caller = Depends(writer)
) -> Response:
    """End a subscription; pending deliveries are cancelled, the delivery log is kept."""
    subscriptions: Subscriptions = request.app.state.subscriptions
    if not await subscriptions.delete(request.app.state.runtime.pool, subscription_id, who.owner):
        raise HTTPException(404, "no such subscription")
    return Response(status_code=204)
