"""Intake's handlers: one submitted event in, one verdict out, stored and published atomically."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from contracts import topics
from contracts.envelope import MAX_EVENT_BYTES, CloudEvent, new_event
from contracts.events import (
    FEEDBACK_RECEIVED_TYPE,
    ROUTING_ASSIGNED_TYPE,
    ROUTING_ESCALATED_TYPE,
    ROUTING_RESOLVED_TYPE,
    SIGNAL_ACCEPTED_TYPE,
    FeedbackReceived,
    ResponderAssigned,
    ResponderEscalated,
    SignalAccepted,
    SignalResolved,
)
from contracts.receipts import (
    RECEIPT_ACCEPTED,
    RECEIPT_DUPLICATE,
    RECEIPT_REJECTED,
    FieldError,
    ReceiptData,
)
from contracts.signals import FEEDBACK_ACKNOWLEDGED_TYPE, street_key
from contracts.validation import ValidatedEvent, validate_partner_event
from services.intake import domain, ledger, store
from wijkbus.consumer import Delivery
from wijkbus.outbox import cloud_event_message, enqueue
from wijkbus.partners import Partner, PartnerRegistry, verify_signature
from wijkbus.vault import Vault, seal_person

INTAKE_SOURCE = "urn:nld:wijkbus:intake"
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Intake:
    """What intake's handlers need: the partner registry, a clock and the personal-data vault."""

    partners: PartnerRegistry
    clock: Clock
    vault: Vault = field(default_factory=Vault.ephemeral)

    async def submit(
        self, conn: asyncpg.Connection, partner: Partner, raw: bytes, channel: str
    ) -> domain.Verdict:
        """Judge one event; when accepted, store and publish it in `conn`'s transaction."""
        received_at = self.clock()
        if len(raw) > MAX_EVENT_BYTES:
            verdict = domain.reject("invalid", "", f"event is larger than {MAX_EVENT_BYTES} bytes")
            await _record(conn, partner, channel, verdict, received_at)
            return verdict
        checked = validate_partner_event(raw)
        if isinstance(checked, list):
            verdict = domain.judge(partner, checked, body_hash="", previous=None, new_signal_id="")
        else:
            verdict = await self._judge_valid(conn, partner, raw, checked, received_at)
        await _record(conn, partner, channel, verdict, received_at)
        return verdict

    async def _judge_valid(
        self,
        conn: asyncpg.Connection,
        partner: Partner,
        raw: bytes,
        checked: ValidatedEvent,
        received_at: datetime,
    ) -> domain.Verdict:
        event = checked.event
        body_hash = checked.body_hash
        # Serialise concurrent submissions of one (source, id): one wins, the rest are duplicates.
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext($1))", f"{event.source}|{event.id}"
        )
        target = None
        if checked.feedback is not None:
            target = await store.signal_state(conn, checked.feedback.signal_id)
        verdict = domain.judge(
            partner,
            checked,
            body_hash=body_hash,
            previous=await store.previous_event(conn, event.source, event.id),
            new_signal_id=str(uuid.uuid4()),
            feedback_target=target,
        )
        if verdict.stored:
            await store.claim_event(
                conn,
                source=event.source,
                event_id=event.id,
                body_hash=body_hash,
                partner_id=partner.id,
                type_=event.type,
                signal_id=verdict.signal_id,
                received_at=received_at,
            )
            await self._publish(conn, partner, checked, verdict, received_at)
        return verdict

    async def _publish(
        self,
        conn: asyncpg.Connection,
        partner: Partner,
        checked: ValidatedEvent,
        verdict: domain.Verdict,
        received_at: datetime,
    ) -> None:
        assert verdict.signal_id is not None
        trace = {"traceparent": _traceparent(checked.event)}
        if checked.signal is not None and checked.categorie is not None:
            signal, location = checked.signal, checked.signal.location
            subject_ref = None
            if signal.person is not None:
                # Sealed before anything is stored or published: only the vault holds the person.
                person = signal.person.model_dump(mode="json", exclude_none=True)
                subject_ref = await seal_person(
                    conn, self.vault, verdict.signal_id, person, received_at
                )
            accepted = SignalAccepted(
                signal_id=verdict.signal_id,
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
                dataref=person_dataref(verdict.signal_id) if subject_ref else None,
            )
            await store.insert_signal(conn, accepted)
            out = new_event(
                SIGNAL_ACCEPTED_TYPE,
                INTAKE_SOURCE,
                accepted,
                id=verdict.signal_id,
                subject=verdict.signal_id,
                time=received_at,
                dataref=accepted.dataref,
                extensions=trace,
            )
            await ledger.publish(
                conn, cloud_event_message(topics.SIGNALS_ACCEPTED, accepted.street_key, out)
            )
            return
        kind = "opgepakt" if checked.event.type == FEEDBACK_ACKNOWLEDGED_TYPE else "afgehandeld"
        feedback = FeedbackReceived(
            signal_id=verdict.signal_id,
            partner_id=partner.id,
            kind=kind,
            outcome=getattr(checked.feedback, "outcome", None),
            received_at=received_at,
        )
        await store.set_status(conn, verdict.signal_id, kind, received_at)
        out = new_event(
            FEEDBACK_RECEIVED_TYPE,
            INTAKE_SOURCE,
            feedback,
            subject=verdict.signal_id,
            time=received_at,
            extensions=trace,
        )
        await ledger.publish(
            conn, cloud_event_message(topics.SIGNALS_FEEDBACK, verdict.signal_id, out)
        )

    async def on_partner_record(self, conn: asyncpg.Connection, delivery: Delivery) -> None:
        """Kafka side: check the signature, submit, and answer with a receipt."""
        partner_id = topics.partner_id_from_events_topic(delivery.topic)
        partner = self.partners.get(partner_id or "")
        if partner is None:
            return  # not a registered partner's topic: nobody to answer, nothing to accept
        signature = delivery.headers.get("wijkbus-signature", b"").decode(errors="replace")
        if not verify_signature(
            self.partners.signing_secret(partner.id), delivery.value, signature or None
        ):
            verdict = domain.reject(
                "unauthenticated",
                "wijkbus-signature",
                "missing or wrong signature: expected sha256=<hex HMAC-SHA256 of the value>",
            )
            await _record(conn, partner, "kafka", verdict, self.clock())
        else:
            verdict = await self.submit(conn, partner, delivery.value, "kafka")
        await enqueue(conn, _receipt(partner, delivery, verdict, self.clock()))

    async def on_routing_event(self, conn: asyncpg.Connection, event: CloudEvent) -> None:
        """Learn who a signal is assigned to now, so feedback is taken from that partner only."""
        await learn_from_routing(conn, event)


async def learn_from_routing(conn: asyncpg.Connection, event: CloudEvent) -> None:
    """Apply routing's assigned, escalated and resolved events to intake's signals."""
    if event.type == ROUTING_ASSIGNED_TYPE:
        assigned = ResponderAssigned.model_validate(event.data)
        await store.set_assignment(conn, assigned.signal_id, assigned.partner_id)
    elif event.type == ROUTING_ESCALATED_TYPE:
        escalated = ResponderEscalated.model_validate(event.data)
        await store.set_assignment(conn, escalated.signal_id, escalated.to_partner_id)
    elif event.type == ROUTING_RESOLVED_TYPE:
        resolved = SignalResolved.model_validate(event.data)
        await store.set_status(conn, resolved.signal_id, "afgehandeld", resolved.resolved_at)


def person_dataref(signal_id: str) -> str:
    """Where an allowed partner fetches a signal's sealed person (the event's `dataref`)."""
    return f"/api/v1/signals/{signal_id}/person"


async def _record(
    conn: asyncpg.Connection,
    partner: Partner,
    channel: str,
    verdict: domain.Verdict,
    at: datetime,
) -> None:
    reason = f"{verdict.errors[0].field}: {verdict.errors[0].message}" if verdict.errors else None
    await store.record_outcome(conn, partner.id, channel, verdict.status, reason, at)


def _receipt(partner: Partner, delivery: Delivery, verdict: domain.Verdict, now: datetime):  # type: ignore[no-untyped-def]
    source, event_id = _identity(delivery.value)
    receipt_type = {"accepted": RECEIPT_ACCEPTED, "duplicate": RECEIPT_DUPLICATE}.get(
        verdict.status, RECEIPT_REJECTED
    )
    data = ReceiptData(
        event_source=source,
        event_id=event_id,
        signal_id=verdict.signal_id,
        errors=list(verdict.errors),
    )
    receipt = new_event(receipt_type, INTAKE_SOURCE, data, time=now)
    key = delivery.key.decode(errors="replace") if delivery.key else event_id
    return cloud_event_message(topics.partner_receipts(partner.id), key, receipt)


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


def _traceparent(event: CloudEvent) -> str:
    given = (event.model_extra or {}).get("traceparent")
    if isinstance(given, str) and given:
        return given
    return f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"


__all__ = ["INTAKE_SOURCE", "FieldError", "Intake", "person_dataref"]
