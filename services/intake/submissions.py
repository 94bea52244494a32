"""Intake's one write path: a batch of submitted events judged, stored and published at once.

Any mix of events goes through here — plain signals, signals with a person to seal, feedback,
refusals, duplicates of earlier batches and of events earlier in the same batch — with one
statement per table for the whole batch. The verdicts, stored rows, log and outbox are exactly
those of handling the events one at a time in the same order; a single event is a batch of one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from contracts.envelope import MAX_EVENT_BYTES
from contracts.validation import ValidatedEvent, validate_partner_event
from services.intake import domain, ledger, publications, queries, reporting, store
from wijkbus.outbox import OutgoingMessage
from wijkbus.partners import Partner
from wijkbus.processor import Delivery
from wijkbus.vault import Vault, seal_persons

TOO_LARGE = domain.reject("invalid", "", f"event is larger than {MAX_EVENT_BYTES} bytes")
TOO_DEEP = domain.reject("invalid", "", "event is nested too deeply to be read")
BAD_SIGNATURE = domain.reject(
    "unauthenticated",
    "wijkbus-signature",
    "missing or wrong signature: expected sha256=<hex HMAC-SHA256 of the value>",
)


@dataclass(frozen=True)
class Submission:
    """One event as a partner submitted it; `record` is the Kafka record to answer, if any."""

    partner: Partner
    raw: bytes
    channel: str
    signed: bool = True
    record: Delivery | None = None
    refused: domain.Verdict | None = None  # judged already where it was read (e.g. TOO_DEEP)


async def submit_batch(
    conn: asyncpg.Connection,
    vault: Vault,
    received_at: datetime,
    new_signal_id: Callable[[], str],
    batch: Sequence[Submission],
    future_tolerance: timedelta = timedelta(minutes=5),
) -> list[domain.Verdict]:
    """Judge a batch; store and publish what is accepted, in `conn`'s transaction; one verdict
    per submission, in order."""
    if not batch:
        return []
    checks = [_check(sub) for sub in batch]
    latest = domain.latest_observed_at(received_at, future_tolerance)
    verdicts = await _judge(conn, batch, checks, new_signal_id, latest)
    outcomes = [_outcome(sub, v, received_at) for sub, v in zip(batch, verdicts, strict=True)]
    await store.record_outcomes(conn, outcomes)
    published, received = await _store(conn, vault, batch, checks, verdicts, received_at)
    messages = _in_order(batch, checks, verdicts, published, received_at)
    # The chained writes last: each holds its chain's lock until the transaction ends.
    await store.claim_events(conn, received)
    await ledger.publish(conn, *messages)
    reporting.report(batch, checks, verdicts)
    return verdicts


async def _judge(
    conn: asyncpg.Connection,
    batch: Sequence[Submission],
    checks: list[domain.Checked],
    new_signal_id: Callable[[], str],
    latest_observed_at: datetime,
) -> list[domain.Verdict]:
    """Lock the batch's `(source, id)`s, load what the rules need, and judge in order."""
    valid = [c for c in checks if isinstance(c, ValidatedEvent)]
    await store.lock_events(conn, (f"{c.event.source}|{c.event.id}" for c in valid))
    previous = await queries.previous_events(conn, {(c.event.source, c.event.id) for c in valid})
    targets = await queries.signal_states(conn, {c.feedback.signal_id for c in valid if c.feedback})
    items = [(sub.partner, c) for sub, c in zip(batch, checks, strict=True)]
    return domain.judge_batch(items, previous, targets, new_signal_id, latest_observed_at)


async def _store(
    conn: asyncpg.Connection,
    vault: Vault,
    batch: Sequence[Submission],
    checks: list[domain.Checked],
    verdicts: list[domain.Verdict],
    at: datetime,
) -> tuple[dict[int, OutgoingMessage], list[store.ReceivedEvent]]:
    """Seal, store and build the publication of every accepted event; the publications by the
    submission's place in the batch, and the received events to claim."""
    stored = [
        (n, c, v.signal_id)
        for n, (c, v) in enumerate(zip(checks, verdicts, strict=True))
        if v.stored and isinstance(c, ValidatedEvent) and v.signal_id is not None
    ]
    subject_refs = await _seal(conn, vault, stored, at)
    published: dict[int, OutgoingMessage] = {}
    signals, changes = [], []
    for n, checked, signal_id in stored:
        partner = batch[n].partner
        if checked.signal is not None:
            accepted, published[n] = publications.signal_accepted(
                partner, checked, signal_id, subject_refs.get(signal_id), at
            )
            signals.append(accepted)
        else:
            feedback, published[n] = publications.feedback_received(partner, checked, signal_id, at)
            changes.append(store.StatusChange(signal_id, feedback.kind, at))
    await store.insert_signals(conn, signals)
    await store.set_statuses(conn, changes)
    return published, [_received(batch[n], c, s, at) for n, c, s in stored]


def _check(sub: Submission) -> domain.Checked:
    if sub.refused is not None:
        return sub.refused
    if not sub.signed:
        return BAD_SIGNATURE
    if len(sub.raw) > MAX_EVENT_BYTES:
        return TOO_LARGE
    return validate_partner_event(sub.raw)


async def _seal(
    conn: asyncpg.Connection,
    vault: Vault,
    stored: list[tuple[int, ValidatedEvent, str]],
    at: datetime,
) -> dict[str, str]:
    """Seal the persons of the accepted signals before anything is stored or published: only
    the vault holds them. Returns each sealed signal's subject reference."""
    persons = [
        (signal_id, c.signal.person.model_dump(mode="json", exclude_none=True))
        for _, c, signal_id in stored
        if c.signal is not None and c.signal.person is not None
    ]
    refs = await seal_persons(conn, vault, persons, at)
    return {signal_id: ref for (signal_id, _), ref in zip(persons, refs, strict=True)}


def _received(
    sub: Submission, checked: ValidatedEvent, signal_id: str, at: datetime
) -> store.ReceivedEvent:
    event = checked.event
    return store.ReceivedEvent(
        event.source, event.id, checked.body_hash, sub.partner.id, event.type, signal_id, at
    )


def _outcome(sub: Submission, verdict: domain.Verdict, at: datetime) -> store.Outcome:
    reason = f"{verdict.errors[0].field}: {verdict.errors[0].message}" if verdict.errors else None
    return store.Outcome(sub.partner.id, sub.channel, verdict.status, reason, at)


def _in_order(
    batch: Sequence[Submission],
    checks: list[domain.Checked],
    verdicts: list[domain.Verdict],
    published: dict[int, OutgoingMessage],
    now: datetime,
) -> list[OutgoingMessage]:
    """Every message of the batch in submission order: an event's publication, then its receipt."""
    messages = []
    for n, (sub, checked, verdict) in enumerate(zip(batch, checks, verdicts, strict=True)):
        if (message := published.get(n)) is not None:
            messages.append(message)
        if sub.record is not None:
            valid = checked if isinstance(checked, ValidatedEvent) else None
            messages.append(
                publications.receipt(sub.partner, sub.record, verdict, now, valid, sub.raw)
            )
    return messages
