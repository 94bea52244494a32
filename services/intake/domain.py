"""Intake's rules: may this partner send this event, and is it new, a duplicate or a conflict.

Pure: no I/O and no clock; the handler loads what the rules need and passes it in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from contracts.receipts import FieldError
from contracts.validation import ValidatedEvent
from wijkbus.partners import Partner

Status = Literal["accepted", "duplicate", "invalid", "forbidden", "conflict", "unauthenticated"]


@dataclass(frozen=True)
class PreviousEvent:
    """What intake stored when it first accepted this `(source, id)`."""

    body_hash: str
    signal_id: str | None


@dataclass(frozen=True)
class SignalState:
    """What intake knows of a signal when feedback arrives for it."""

    signal_id: str
    assigned_partner_id: str | None


@dataclass(frozen=True)
class Verdict:
    """The answer to one submitted event."""

    status: Status
    signal_id: str | None = None
    errors: tuple[FieldError, ...] = field(default_factory=tuple)

    @property
    def stored(self) -> bool:
        """Whether this verdict stores and publishes the event."""
        return self.status == "accepted"


def reject(status: Status, field_name: str, message: str) -> Verdict:
    """A verdict with one error."""
    return Verdict(status, errors=(FieldError(field=field_name, message=message),))


def judge(
    partner: Partner,
    checked: ValidatedEvent | list[FieldError],
    *,
    body_hash: str,
    previous: PreviousEvent | None,
    new_signal_id: str,
    feedback_target: SignalState | None = None,
    latest_observed_at: datetime | None = None,
) -> Verdict:
    """Decide what happens to one event from `partner`, given what intake already holds;
    a signal observed after `latest_observed_at` (intake's clock plus its tolerance) is refused."""
    if isinstance(checked, list):
        return Verdict("invalid", errors=tuple(checked))
    if (future := _observed_in_future(checked, latest_observed_at)) is not None:
        return future
    event = checked.event
    if event.source != partner.source:
        return reject(
            "forbidden",
            "source",
            f"source must be this partner's registered source {partner.source!r}",
        )
    if checked.kind == "signal" and checked.categorie not in partner.may_send:
        return reject(
            "forbidden", "type", f"partner {partner.id} may not send category {checked.categorie}"
        )
    if previous is not None:
        if previous.body_hash != body_hash:
            return reject(
                "conflict",
                "id",
                f"event {event.id!r} from this source was already received with a different body",
            )
        return Verdict("duplicate", signal_id=previous.signal_id)
    if checked.kind == "feedback":
        return _judge_feedback(partner, feedback_target)
    return Verdict("accepted", signal_id=new_signal_id)


Checked = ValidatedEvent | list[FieldError] | Verdict
"""An event as far as intake checks it alone: validated, its errors, or refused already."""


def judge_batch(
    items: Sequence[tuple[Partner, Checked]],
    previous: dict[tuple[str, str], PreviousEvent],
    signals: dict[str, SignalState],
    new_signal_id: Callable[[], str],
    latest_observed_at: datetime | None = None,
) -> list[Verdict]:
    """Judge a batch in order, exactly as one by one: what an earlier event of the batch stored
    is `previous` for its later copies, and a signal it accepted is known to later feedback."""
    known, states = dict(previous), dict(signals)
    verdicts = []
    for partner, checked in items:
        if isinstance(checked, Verdict):
            verdicts.append(checked)
            continue
        if isinstance(checked, list):
            verdicts.append(judge(partner, checked, body_hash="", previous=None, new_signal_id=""))
            continue
        key = (checked.event.source, checked.event.id)
        target = states.get(checked.feedback.signal_id) if checked.feedback else None
        verdict = judge(
            partner,
            checked,
            body_hash=checked.body_hash,
            previous=known.get(key),
            new_signal_id=new_signal_id() if checked.kind == "signal" else "",
            feedback_target=target,
            latest_observed_at=latest_observed_at,
        )
        if verdict.stored and verdict.signal_id is not None:
            known[key] = PreviousEvent(checked.body_hash, verdict.signal_id)
            if checked.kind == "signal":
                states[verdict.signal_id] = SignalState(verdict.signal_id, None)
        verdicts.append(verdict)
    return verdicts


def latest_observed_at(received_at: datetime, tolerance: timedelta) -> datetime:
    """The latest `observed_at` intake takes at `received_at`: clocks differ a little, but
    nobody observes the future, and rules judge signals by their observed time."""
    return received_at + tolerance


def _observed_in_future(checked: ValidatedEvent, latest: datetime | None) -> Verdict | None:
    observed = checked.signal.observed_at if checked.signal is not None else None
    if latest is None or observed is None or observed <= latest:
        return None
    return reject(
        "invalid",
        "data.observed_at",
        f"observed_at {observed.isoformat()} is in the future; "
        f"intake takes at most {latest.isoformat()} (its clock plus its tolerance)",
    )


def _judge_feedback(partner: Partner, target: SignalState | None) -> Verdict:
    if target is None:
        return reject("invalid", "data.signal_id", "no signal with this id is known")
    if target.assigned_partner_id != partner.id:
        return reject(
            "forbidden",
            "data.signal_id",
            "only the partner the signal is currently assigned to may report on it",
        )
    return Verdict("accepted", signal_id=target.signal_id)


def event_time(checked: ValidatedEvent, received_at: datetime) -> datetime:
    """The event's `time`, or the moment intake received it when the partner left it out."""
    return checked.event.time or received_at


def may_read_person(partner: Partner, signal: SignalState | None) -> bool:
    """Only a partner allowed to read personal data and assigned the signal may read its person."""
    return (
        signal is not None
        and partner.may_read_personal_data
        and signal.assigned_partner_id == partner.id
    )
