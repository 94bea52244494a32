"""What intake publishes: accepted signals, partner feedback and the receipts partners get back."""

from __future__ import annotations

import json
from datetime import datetime

from contracts import topics
from contracts.envelope import CloudEvent
from contracts.events import (
    FEEDBACK_RECEIVED_TYPE,
    SIGNAL_ACCEPTED_TYPE,
    FeedbackReceived,
    SignalAccepted,
)
from contracts.receipts import RECEIPT_ACCEPTED, RECEIPT_DUPLICATE, RECEIPT_REJECTED, ReceiptData
from contracts.signals import FEEDBACK_ACKNOWLEDGED_TYPE, street_key
from contracts.validation import ValidatedEvent
from services.intake import domain
from wijkbus.outbox import OutgoingMessage, event_message
from wijkbus.partners import Partner
from wijkbus.processor import Delivery
from wijkbus.randomness import random_hex, uuid4_text

INTAKE_SOURCE = "urn:nld:wijkbus:intake"


def person_dataref(signal_id: str) -> str:
    """Where an allowed partner fetches a signal's sealed person (the event's `dataref`)."""
    return f"/api/v1/signals/{signal_id}/person"


def signal_accepted(
    partner: Partner,
    checked: ValidatedEvent,
    signal_id: str,
    subject_ref: str | None,
    received_at: datetime,
) -> tuple[SignalAccepted, OutgoingMessage]:
    """The accepted signal, street level only, and its message on `signals.accepted`."""
    assert checked.signal is not None and checked.categorie is not None
    signal, location = checked.signal, checked.signal.location
    accepted = SignalAccepted(
        signal_id=signal_id,
        partner_id=partner.id,
        event_source=checked.event.source,
        event_id=checked.event.id,
        categorie=checked.categorie,
        subcategory=signal.subcategory,
        severity=signal.severity,
        observed_at=signal.observed_at or domain.event_time(checked, received_at),
        received_at=received_at,
        street_key=street_key(location),
        street=location.street,
        city=location.city,
        buurt_code=location.buurt_code,
        openbareruimte_id=location.openbareruimte_id,
        has_person=subject_ref is not None,
        subject_ref=subject_ref,
        dataref=person_dataref(signal_id) if subject_ref else None,
    )
    return accepted, event_message(
        topics.SIGNALS_ACCEPTED,
        accepted.street_key,
        SIGNAL_ACCEPTED_TYPE,
        INTAKE_SOURCE,
        accepted,
        id=signal_id,
        subject=signal_id,
        time=received_at,
        dataref=accepted.dataref,
        extensions={"traceparent": traceparent(checked.event)},
    )


def feedback_received(
    partner: Partner, checked: ValidatedEvent, signal_id: str, received_at: datetime
) -> tuple[FeedbackReceived, OutgoingMessage]:
    """The accepted feedback on a signal and its message on `signals.feedback`."""
    kind = "opgepakt" if checked.event.type == FEEDBACK_ACKNOWLEDGED_TYPE else "afgehandeld"
    feedback = FeedbackReceived(
        signal_id=signal_id,
        partner_id=partner.id,
        kind=kind,
        outcome=getattr(checked.feedback, "outcome", None),
        received_at=received_at,
    )
    return feedback, event_message(
        topics.SIGNALS_FEEDBACK,
        signal_id,
        FEEDBACK_RECEIVED_TYPE,
        INTAKE_SOURCE,
        feedback,
        id=uuid4_text(),
        subject=signal_id,
        time=received_at,
        extensions={"traceparent": traceparent(checked.event)},
    )


def receipt(
    partner: Partner,
    delivery: Delivery,
    verdict: domain.Verdict,
    now: datetime,
    checked: ValidatedEvent | None = None,
    event: bytes | None = None,
) -> OutgoingMessage:
    """The receipt answering a partner's Kafka record, on the partner's receipts topic; `event`
    is the structured event the record carried when that is not its value (binary mode)."""
    source: str | None
    event_id: str | None
    if checked is not None:  # already read: no need to parse the record again
        source, event_id = checked.event.source, checked.event.id
    else:
        source, event_id = _identity(delivery.value if event is None else event)
    receipt_type = {"accepted": RECEIPT_ACCEPTED, "duplicate": RECEIPT_DUPLICATE}.get(
        verdict.status, RECEIPT_REJECTED
    )
    data = ReceiptData(
        event_source=source,
        event_id=event_id,
        signal_id=verdict.signal_id,
        errors=list(verdict.errors),
    )
    key = delivery.key.decode(errors="replace") if delivery.key else event_id
    return event_message(
        topics.partner_receipts(partner.id),
        key,
        receipt_type,
        INTAKE_SOURCE,
        data,
        id=uuid4_text(),
        subject=None,
        time=now,
    )


def _identity(raw: bytes) -> tuple[str | None, str | None]:
    """The (source, id) a partner gave an event, as far as it can be read."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None, None
    if not isinstance(body, dict):
        return None, None
    source, event_id = body.get("source"), body.get("id")
    return (
        source if isinstance(source, str) else None,
        event_id if isinstance(event_id, str) else None,
    )


def traceparent(event: CloudEvent) -> str:
    """The partner's W3C traceparent, or a new trace when it sent none."""
    given = (event.model_extra or {}).get("traceparent")
    if isinstance(given, str) and given:
        return given
    return f"00-{random_hex(16)}-{random_hex(8)}-01"
