"""Managing subscriptions: creating one after its test delivery, listing, showing and deleting
them, and their views (what a request may ask for: `subscription_requests`)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import (
    BaseModel,
    ConfigDict,
)

from contracts.codec import encode
from services.notify import domain, hearing, signatures, store
from services.notify.catalogue import never_matching
from services.notify.crypto import SecretBox, new_signing_secret
from services.notify.subscription_requests import FiltersIn, SubscriptionRequest
from services.notify.webhook import WebhookSender
from wijkbus.partners import PartnerRegistry

NOTIFY_SOURCE = "urn:nld:wijkbus:notify"
INITIATIVE_TYPES = "nl.wijkaanpak.budget.initiative-"  # what the initiator channel may carry


def check_answered(result: domain.AttemptResult, what: str, field_name: str) -> None:
    """Refused unless a test POST was answered with 2xx. The status code only (result.error):
    what the receiver wrote is never shown, so a test cannot read another host's answers."""
    if result.status_code is None or not 200 <= result.status_code < 300:
        why = result.error or f"HTTP {result.status_code}"
        raise Refused(
            400,
            "callback check failed",
            detail=f"{what} to {field_name} was not answered with 2xx: {why}",
            errors=[{"field": field_name, "message": why}],
        )


class SubscriptionTested(BaseModel):
    """The data of the test delivery sent when a subscription is created."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subscription_id: str
    message: str


@dataclass
class Refused(Exception):
    """The request cannot be carried out; becomes a problem+json answer."""

    status: int
    title: str
    detail: str | None = None
    errors: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Subscriptions:
    """Creates (after a successful test delivery), lists, shows and deletes subscriptions."""

    box: SecretBox
    sender: WebhookSender
    partners: PartnerRegistry
    clock: Callable[[], datetime]

    async def create(
        self, pool: asyncpg.Pool, request: SubscriptionRequest, owner: str | None
    ) -> dict[str, Any]:
        """Check a webhook with a test delivery, then store; the view (+ signing secret)."""
        filters = self._own_filters(request.filters, owner)
        if request.channel == "initiator":
            _check_initiator(request, owner)
        stored = domain.Filters(filters.partner, filters.buurt_code, filters.street_key)
        _check_can_match(request.types, stored)
        sub_id = uuid.uuid4()
        secret = None
        if request.channel == "webhook":
            assert request.callback_url is not None and request.authorization is not None
            secret = new_signing_secret()
            await self._test_delivery(sub_id, request, secret)
        async with pool.acquire() as conn, conn.transaction():
            await store.insert_subscription(
                conn,
                store.NewSubscription(
                    id=sub_id,
                    owner_partner_id=owner,
                    channel=request.channel,
                    callback_url=request.callback_url,
                    email_address=request.email,
                    authorization_enc=None
                    if request.authorization is None
                    else self.box.seal(request.authorization, f"{sub_id}:auth"),
                    signing_secret_enc=None
                    if secret is None
                    else self.box.seal(secret, f"{sub_id}:signing"),
                    types=request.types,
                    filters=stored,
                    content_mode=request.content_mode,
                    max_in_flight=request.max_in_flight,
                    batch_max_events=request.batch.max_events if request.batch else None,
                    batch_max_wait_ms=request.batch.max_wait_ms if request.batch else None,
                ),
            )
            row = await store.subscription(conn, str(sub_id), None)
        assert row is not None
        return {**view(row), "signing_secret": secret} if secret else view(row)

    async def _test_delivery(
        self, sub_id: uuid.UUID, request: SubscriptionRequest, secret: str
    ) -> None:
        """POST a signed test event in the chosen content mode; Refused unless the callback
        answers 2xx."""
        assert request.callback_url is not None and request.authorization is not None
        test_id = str(uuid.uuid4())
        test = encode(
            domain.TEST_EVENT_TYPE,
            NOTIFY_SOURCE,
            SubscriptionTested(
                subscription_id=str(sub_id),
                message="Testbericht: dit abonnement op wijkbus-gebeurtenissen wordt aangemaakt.",
            ),
            id=test_id,
            subject=str(sub_id),
            time=self.clock(),
        )
        message_id = signatures.message_id(sub_id, test_id)
        result = await self.sender.post(
            request.callback_url,
            request.authorization,
            secret,
            test,
            message_id,
            binary=request.content_mode == "binary",
        )
        check_answered(result, "the test delivery", "callback_url")

    def _own_filters(self, filters: FiltersIn, owner: str | None) -> FiltersIn:
        """The filters as stored: a partner hears only about itself, and only of known partners."""
        if owner is not None:
            if filters.partner not in (None, owner):
                raise Refused(
                    400,
                    "invalid subscription",
                    errors=[_error("filters.partner", "a partner may filter only on its own id")],
                )
            # Other partners' assignments are not a partner's business; an operator can
            # subscribe on a partner's behalf when it should hear more.
            return filters.model_copy(update={"partner": owner})
        if filters.partner is not None and self.partners.get(filters.partner) is None:
            raise Refused(
                400,
                "invalid subscription",
                errors=[_error("filters.partner", f"no registered partner {filters.partner!r}")],
            )
        return filters

    async def delete(self, pool: asyncpg.Pool, subscription_id: str, owner: str | None) -> bool:
        """End a subscription (kept for the delivery log); False when the caller cannot see it."""
        async with pool.acquire() as conn, conn.transaction():
            await hearing.changing(conn)  # first: before any lock a fan-out could wait for
            row = await store.subscription(conn, subscription_id, owner)
            if row is None:
                return False
            await store.end_subscription(
                conn, row["id"], "deleted", "deleted through the API", self.clock()
            )
        return True


def _check_initiator(request: SubscriptionRequest, owner: str | None) -> None:
    """Only an operator may mail initiators, and only about initiatives."""
    if owner is not None:
        raise Refused(403, "forbidden", detail="only an operator may subscribe initiators")
    wrong = [t for t in request.types if not t.startswith(INITIATIVE_TYPES)]
    if wrong:
        raise Refused(
            400,
            "invalid subscription",
            errors=[_error("types", f"the initiator channel takes only {INITIATIVE_TYPES}*")],
        )


def _check_can_match(types: list[str], filters: domain.Filters) -> None:
    """Refuse a subscription that could never hear anything rather than keep it silently."""
    errors = never_matching(types, filters)
    if errors:
        raise Refused(
            400,
            "subscription can never match",
            detail="every type prefix must be able to match an event notify delivers, with"
            " these filters (a partner's own subscription hears only events that name it)",
            errors=errors,
        )


def _error(field_name: str, message: str) -> dict[str, str]:
    return {"field": field_name, "message": message}


def view(row: asyncpg.Record) -> dict[str, Any]:
    """A subscription as the API shows it: never its Authorization value or signing secret."""
    return {
        "id": str(row["id"]),
        "channel": row["channel"],
        "callback_url": row["callback_url"],
        "email": row["email_address"],
        "types": list(row["types"]),
        "filters": {
            "partner": row["filter_partner"],
            "buurt_code": row["filter_buurt_code"],
            "street_key": row["filter_street_key"],
        },
        "owner": row["owner_partner_id"],
        "status": row["status"],
        "status_reason": row["status_reason"],
        "created_at": row["created_at"].isoformat(),
        "content_mode": row["content_mode"],
        "max_in_flight": row["max_in_flight"],
        "batch": None
        if row["batch_max_events"] is None
        else {"max_events": row["batch_max_events"], "max_wait_ms": row["batch_max_wait_ms"]},
    }
