"""What intake tells about each judged event: a counter per partner, outcome and reason, and one
log line per event — its partner, channel, type, outcome and reason, never its content.

A refused event's type and error fields are the partner's input, so its type is logged only when
validation recognised it and its field only when it is an envelope attribute; the reason is the
verdict's status (invalid, forbidden, conflict, unauthenticated), or for an HTTP request refused
before its events were read, why (unsupported-media, too-large, rate-limited). Cost on the
batch path: one log call per event, counters added once per batch.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Sequence
from typing import TYPE_CHECKING

from prometheus_client import Counter

from contracts.validation import ValidatedEvent
from services.intake import domain
from wijkbus.logging import get_logger

if TYPE_CHECKING:
    from services.intake.submissions import Submission

log = get_logger(__name__)

EVENTS = Counter(
    "wijkbus_intake_events_total",
    "Partner events judged, by partner, channel, outcome and reason",
    ["partner", "channel", "outcome", "reason"],
)
OUTCOMES = {"accepted": "accepted", "duplicate": "duplicate"}  # everything else: refused
ENVELOPE_FIELDS = frozenset(
    {"", "specversion", "id", "source", "type", "time", "datacontenttype", "data", "subject"}
    | {"dataschema", "dataref", "wijkbus-signature", "data.person"}
)


def report(
    batch: Sequence[Submission],
    checks: Sequence[domain.Checked],
    verdicts: Sequence[domain.Verdict],
) -> None:
    """Log each judged event of a batch and count the batch's outcomes."""
    tally: Tally[tuple[str, str, str, str]] = Tally()
    for sub, checked, verdict in zip(batch, checks, verdicts, strict=True):
        outcome = OUTCOMES.get(verdict.status, "refused")
        reason = "" if outcome != "refused" else verdict.status
        tally[(sub.partner.id, sub.channel, outcome, reason)] += 1
        log.info(
            f"event {outcome}",
            partner_id=sub.partner.id,
            channel=sub.channel,
            type=checked.event.type if isinstance(checked, ValidatedEvent) else None,
            signal_id=verdict.signal_id,
            reason=reason or None,
            field=_field(verdict),
        )
    for labels, n in tally.items():
        EVENTS.labels(*labels).inc(n)


def refused_request(partner_id: str, reason: str, events: int = 1) -> None:
    """An HTTP request refused before its events were judged (its media type, its size, the
    partner's rate): counted once per event it held (1 when unread), told in one line."""
    EVENTS.labels(partner_id, "http", "refused", reason).inc(events)
    log.info("request refused", partner_id=partner_id, channel="http", reason=reason, events=events)


def _field(verdict: domain.Verdict) -> str | None:
    """The first error's field, when it names an attribute of the contract (not a partner's)."""
    if not verdict.errors or verdict.errors[0].field not in ENVELOPE_FIELDS:
        return None
    return verdict.errors[0].field
