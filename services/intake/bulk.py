"""Intake in bulk: a batch of plain signals judged and stored with one query per step.

Per event, intake needs about eight round trips to PostgreSQL; for a Kafka batch or an HTTP batch
that is the whole cost. Here the same rules (`domain.judge`) run over the batch with one query per
step. Events that need more — feedback, signals with a person to seal, anything over the size
limit — take the one-by-one path (`Intake.submit`) inside the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from contracts import topics
from contracts.envelope import MAX_EVENT_BYTES, new_event
from contracts.events import SIGNAL_ACCEPTED_TYPE, SignalAccepted
from contracts.signals import street_key
from contracts.validation import ValidatedEvent, validate_partner_event
from services.intake import domain, ledger
from services.intake.handlers import INTAKE_SOURCE, Intake, _receipt, _traceparent
from wijkbus.consumer import Delivery
from wijkbus.outbox import cloud_event_message, enqueue
from wijkbus.partners import Partner, verify_signature

BAD_SIGNATURE = domain.reject(
    "unauthenticated",
    "wijkbus-signature",
    "missing or wrong signature: expected sha256=<hex HMAC-SHA256 of the value>",
)


@dataclass(frozen=True)
class Submission:
    """One event as a partner submitted it."""

    partner: Partner
    raw: bytes
    channel: str


async def submit_many(
    intake: Intake, conn: asyncpg.Connection, submissions: list[Submission]
) -> list[domain.Verdict]:
    """Judge a batch; store and publish what is accepted; one verdict per submission, in order."""
    received_at = intake.clock()
    verdicts: dict[int, domain.Verdict] = {}
    plain: dict[int, ValidatedEvent] = {}
    one_by_one: list[int] = []
    for n, sub in enumerate(submissions):
        checked = validate_partner_event(sub.raw) if len(sub.raw) <= MAX_EVENT_BYTES else None
        if isinstance(checked, list):
            verdicts[n] = domain.judge(
                sub.partner, checked, body_hash="", previous=None, new_signal_id=""
            )
        elif checked is None or checked.signal is None or checked.signal.person is not None:
            one_by_one.append(n)
        else:
            plain[n] = checked
    accepted = await _judge_plain(conn, submissions, plain, verdicts)
    await _store_accepted(conn, submissions, accepted, verdicts, received_at)
    await _record_outcomes(conn, submissions, verdicts, received_at)
    for n in one_by_one:  # after the plain signals: feedback may be about one of them
        verdicts[n] = await intake.submit(
            conn, submissions[n].partner, submissions[n].raw, submissions[n].channel
        )
    return [verdicts[n] for n in range(len(submissions))]


async def _judge_plain(
    conn: asyncpg.Connection,
    submissions: list[Submission],
    plain: dict[int, ValidatedEvent],
    verdicts: dict[int, domain.Verdict],
) -> list[tuple[int, ValidatedEvent]]:
    if not plain:
        return []
    keys = sorted({f"{c.event.source}|{c.event.id}" for c in plain.values()})
    # Sorted, so two batches lock shared keys in the same order and cannot deadlock.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext(k)) FROM unnest($1::text[]) k", keys)
    rows = await conn.fetch(
        "SELECT r.source, r.event_id, r.body_hash, r.signal_id FROM received_events r"
        " JOIN unnest($1::text[], $2::text[]) AS u(source, event_id) USING (source, event_id)",
        [c.event.source for c in plain.values()],
        [c.event.id for c in plain.values()],
    )
    previous = {
        (r["source"], r["event_id"]): domain.PreviousEvent(
            r["body_hash"], str(r["signal_id"]) if r["signal_id"] else None
        )
        for r in rows
    }
    accepted = []
    for n, checked in plain.items():
        key = (checked.event.source, checked.event.id)
        verdict = domain.judge(
            submissions[n].partner,
            checked,
            body_hash=checked.body_hash,
            previous=previous.get(key),
            new_signal_id=str(uuid.uuid4()),
        )
        verdicts[n] = verdict
        if verdict.stored:
            # A second copy later in the same batch is a duplicate (or a conflict) of this one.
            previous[key] = domain.PreviousEvent(checked.body_hash, verdict.signal_id)
            accepted.append((n, checked))
    return accepted


async def _store_accepted(
    conn: asyncpg.Connection,
    submissions: list[Submission],
    accepted: list[tuple[int, ValidatedEvent]],
    verdicts: dict[int, domain.Verdict],
    received_at: datetime,
) -> None:
    if not accepted:
        return
    signals, messages = [], []
    for n, checked in accepted:
        signal_id = verdicts[n].signal_id
        assert signal_id is not None and checked.signal is not None
        assert checked.categorie is not None
        location = checked.signal.location
        signals.append(
            SignalAccepted(
                signal_id=signal_id,
                partner_id=submissions[n].partner.id,
                event_source=checked.event.source,
                event_id=checked.event.id,
                categorie=checked.categorie,
                subcategory=checked.signal.subcategory,
                severity=checked.signal.severity,
                observed_at=checked.signal.observed_at or domain.event_time(checked, received_at),
                received_at=received_at,
                street_key=street_key(location),
                street=location.street,
                city=location.city,
                buurt_code=location.buurt_code,
                openbareruimte_id=location.openbareruimte_id,
            )
        )
        out = new_event(
            SIGNAL_ACCEPTED_TYPE,
            INTAKE_SOURCE,
            signals[-1],
            id=signal_id,
            subject=signal_id,
            time=received_at,
            extensions={"traceparent": _traceparent(checked.event)},
        )
        messages.append(cloud_event_message(topics.SIGNALS_ACCEPTED, signals[-1].street_key, out))
    await conn.executemany(
        "INSERT INTO received_events"
        " (source, event_id, body_hash, partner_id, type, signal_id, received_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [
            (
                c.event.source,
                c.event.id,
                c.body_hash,
                submissions[n].partner.id,
                c.event.type,
                UUID(verdicts[n].signal_id),
                received_at,
            )
            for n, c in accepted
        ],
    )
    await conn.executemany(
        "INSERT INTO signals (signal_id, partner_id, source, event_id, categorie, subcategory,"
        " severity, street_key, street, city, buurt_code, observed_at, received_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        [
            (
                UUID(s.signal_id),
                s.partner_id,
                s.event_source,
                s.event_id,
                s.categorie.value,
                s.subcategory,
                s.severity.value,
                s.street_key,
                s.street,
                s.city,
                s.buurt_code,
                s.observed_at,
                s.received_at,
            )
            for s in signals
        ],
    )
    await ledger.publish(conn, *messages)


async def _record_outcomes(
    conn: asyncpg.Connection,
    submissions: list[Submission],
    verdicts: dict[int, domain.Verdict],
    at: datetime,
) -> None:
    rows = [
        (
            submissions[n].partner.id,
            submissions[n].channel,
            v.status,
            f"{v.errors[0].field}: {v.errors[0].message}" if v.errors else None,
            at,
        )
        for n, v in verdicts.items()
    ]
    if rows:
        await conn.executemany(
            "INSERT INTO outcomes (partner_id, channel, status, reason, at)"
            " VALUES ($1, $2, $3, $4, $5)",
            rows,
        )


async def on_partner_records(
    intake: Intake, conn: asyncpg.Connection, deliveries: list[Delivery]
) -> None:
    """Kafka side in bulk: check signatures, judge the batch, answer every record with a receipt."""
    now = intake.clock()
    answered: list[tuple[Delivery, Partner, bool]] = []
    for delivery in deliveries:
        partner = intake.partners.get(topics.partner_id_from_events_topic(delivery.topic) or "")
        if partner is None:
            continue  # not a registered partner's topic: nobody to answer, nothing to accept
        signature = delivery.headers.get("wijkbus-signature", b"").decode(errors="replace")
        secret = intake.partners.signing_secret(partner.id)
        answered.append(
            (delivery, partner, verify_signature(secret, delivery.value, signature or None))
        )
    signed = [Submission(p, d.value, "kafka") for d, p, ok in answered if ok]
    verdicts = iter(await submit_many(intake, conn, signed))
    refused = [Submission(p, d.value, "kafka") for d, p, ok in answered if not ok]
    if refused:
        await _record_outcomes(
            conn, refused, dict.fromkeys(range(len(refused)), BAD_SIGNATURE), now
        )
    # Receipts in record order, so a partner keying by case id sees them in its own order.
    await enqueue(
        conn,
        *(
            _receipt(partner, delivery, next(verdicts) if ok else BAD_SIGNATURE, now)
            for delivery, partner, ok in answered
        ),
    )
