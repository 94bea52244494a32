"""What a subscription request may ask for: its body (POST /api/v1/subscriptions) and the
checks of a callback URL and of the Authorization value notify sends with it."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from contracts.fields import PartnerId
from contracts.signals import BuurtCode
from services.notify.catalogue import DELIVERED_TYPES
from services.notify.delivery_options import (
    BATCH,
    DEFAULT_IN_FLIGHT,
    IN_FLIGHT,
    MAX_IN_FLIGHT,
    BatchIn,
)

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
