"""Managing subscriptions: what a request may ask for, the test delivery, and the views."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import asyncpg
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from contracts.codec import encode
from contracts.fields import PartnerId
from contracts.signals import BuurtCode
from services.notify import domain, hearing, signatures, store
from services.notify.catalogue import DELIVERED_TYPES, never_matching
from services.notify.crypto import SecretBox, new_signing_secret
from services.notify.delivery_options import (
    BATCH,
    DEFAULT_IN_FLIGHT,
    IN_FLIGHT,
    MAX_IN_FLIGHT,
    BatchIn,
)
from services.notify.webhook import WebhookSender
from wijkbus.partners import PartnerRegistry

NOTIFY_SOURCE = "urn:nld:wijkbus:notify"
INITIATIVE_TYPES = "nl.wijkaanpak.budget.initiative-"  # what the initiator channel may carry
TypePrefix = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
CallbackUrl = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
HeaderValue = Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class FiltersIn(BaseModel):
    """Optional filters; an event must match every one that is set."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    partner: PartnerId | None = None
    buurt_code: BuurtCode | None = None
    street_key: Annotated[str, StringConstraints(min_length=1, max_length=300)] | None = None


class SubscriptionRequest(BaseModel):
    """The body of POST /api/v1/subscriptions: a webhook callback, an e-mail address, or the
    initiator of each buurtbudget initiative (`initiator`: budget keeps that address sealed;
    notify asks budget for it when it sends and never stores it; operators only)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: Literal["webhook", "email", "initiator"]
    callback_url: CallbackUrl | None = Field(
        default=None, validate_default=True, description="Webhook only."
    )
    authorization: HeaderValue | None = Field(
        default=None,
        validate_default=True,
        description="Webhook only: the Authorization header value notify sends, e.g."
        " 'Bearer <token>'. Stored encrypted; never shown again.",
    )
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=254)] | None = Field(
        default=None,
        validate_default=True,
        description="E-mail only: the (team) mailbox that receives the Dutch notifications.",
    )
    types: list[TypePrefix] = Field(
        min_length=1,
        max_length=50,
        description="Event type prefixes: an event is delivered when its type starts with one of"
        " them (a prefix match: 'nl.wijkaanpak.routing.' is every routing event, a whole type"
        " is just that type). Each prefix must be able to match, with the filters, one of the"
        " types notify delivers, else 400: " + ", ".join(DELIVERED_TYPES) + ".",
    )
    filters: FiltersIn = FiltersIn()
    content_mode: Literal["structured", "binary"] = Field(
        default="structured",
        description="Webhook only: how each CloudEvent arrives. 'structured': the whole event"
        " as JSON (Content-Type: application/cloudevents+json). 'binary': the CloudEvents HTTP"
        " binding's binary mode, the attributes in ce-* headers and the data alone as the body"
        " (Content-Type: application/json); what wijkbus-signature covers then is in README.md.",
    )
    max_in_flight: int = Field(
        default=DEFAULT_IN_FLIGHT, ge=1, le=MAX_IN_FLIGHT, description=IN_FLIGHT
    )
    batch: BatchIn | None = Field(default=None, description=BATCH)

    @field_validator("batch")
    @classmethod
    def _batched_webhook(cls, value: BatchIn | None, info: ValidationInfo) -> BatchIn | None:
        chosen = info.data.get("channel")
        if value is not None and chosen not in (None, "webhook"):
            raise ValueError(f"batch is not used by channel {chosen!r}")
        if value is not None and info.data.get("content_mode") == "binary":
            raise ValueError("a batch is a JSON array of structured events: not with binary")
        return value

    @field_validator("callback_url")
    @classmethod
    def _http_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not _wants(info, "webhook", value, "callback_url"):
            return None
        assert value is not None
        return check_callback_url(value, "callback_url", "authorization")

    @field_validator("authorization")
    @classmethod
    def _one_line(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not _wants(info, "webhook", value, "authorization"):
            return None
        assert value is not None
        return check_authorization(value, "authorization")

    @field_validator("content_mode")
    @classmethod
    def _webhook_mode(cls, value: str, info: ValidationInfo) -> str:
        chosen = info.data.get("channel")
        if value == "binary" and chosen not in (None, "webhook"):
            raise ValueError(f"content_mode is not used by channel {chosen!r}")
        return value

    @field_validator("email")
    @classmethod
    def _address(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not _wants(info, "email", value, "email"):
            return None
        assert value is not None
        if not _EMAIL.fullmatch(value):
            raise ValueError("email must be one plain address such as team@example.nl")
        return value


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


def check_callback_url(value: str, name: str, auth_name: str) -> str:
    """A webhook's callback: http(s) with a host, and no credentials in it."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{name} must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise ValueError(f"put credentials in '{auth_name}', not in {name}")
    return value


def check_authorization(value: str, name: str) -> str:
    """The Authorization value notify sends: one line of printable ASCII."""
    # A line break here would let a caller smuggle extra headers into our requests.
    if any(c in value for c in "\r\n\0"):
        raise ValueError(f"{name} must be a single line")
    # A header is sent as ASCII: anything else failed in the test delivery itself (a 500).
    if not _HEADER_TEXT.fullmatch(value):
        raise ValueError(f"{name} must be printable ASCII, e.g. 'Bearer <token>'")
    return value


_HEADER_TEXT = re.compile(r"[\x20-\x7e\t]+")
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+")


def _wants(info: ValidationInfo, channel: str, value: object, name: str) -> bool:
    """Whether the request's channel uses field `name`: required there, forbidden elsewhere."""
    chosen = info.data.get("channel")
    if chosen is None:  # the channel itself is invalid; that error is reported already
        return value is not None
    if chosen == channel and value is None:
        raise ValueError(f"{name} is required for channel {channel!r}")
    if chosen != channel and value is not None:
        raise ValueError(f"{name} is not used by channel {chosen!r}")
    return chosen == channel


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
