"""Receipts: the per-event answer a partner gets on `partners.<id>.receipts`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

RECEIPT_ACCEPTED = "nl.wijkaanpak.ontvangst.geaccepteerd"
RECEIPT_DUPLICATE = "nl.wijkaanpak.ontvangst.duplicaat"
RECEIPT_REJECTED = "nl.wijkaanpak.ontvangst.geweigerd"
RECEIPT_TYPES = (RECEIPT_ACCEPTED, RECEIPT_DUPLICATE, RECEIPT_REJECTED)


class FieldError(BaseModel):
    """One problem with an event: a dotted field path (empty for the whole body) and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str
    message: str


class ReceiptData(BaseModel):
    """The `data` of a receipt; source and id are None when the event could not be read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_source: str | None
    event_id: str | None
    signal_id: str | None = None
    errors: tuple[FieldError, ...] = ()
