"""Internal events wijkbus services publish, named in the past tense, and their types."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.fields import PartnerId, SignalId, UtcDatetime
from contracts.receipts import RECEIPT_TYPES, ReceiptData
from contracts.signals import Categorie, Outcome, Severity

SIGNAL_ACCEPTED_TYPE = "nl.wijkaanpak.intake.signal-accepted"
FEEDBACK_RECEIVED_TYPE = "nl.wijkaanpak.intake.feedback-received"
ROUTING_ASSIGNED_TYPE = "nl.wijkaanpak.routing.assigned"
ROUTING_ESCALATED_TYPE = "nl.wijkaanpak.routing.escalated"
ROUTING_ACKNOWLEDGED_TYPE = "nl.wijkaanpak.routing.acknowledged"
ROUTING_RESOLVED_TYPE = "nl.wijkaanpak.routing.resolved"
STREET_THRESHOLD_CROSSED_TYPE = "nl.wijkaanpak.streets.threshold-crossed"

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class SignalAccepted(BaseModel):
    """Intake accepted a partner signal.

    Data minimisation: no house number, postcode, description or person travel past intake;
    downstream services get the street and, when a person was sealed, only a `dataref`.
    """

    model_config = _FROZEN

    signal_id: SignalId
    partner_id: PartnerId
    event_source: str
    event_id: str
    categorie: Categorie
    subcategory: str | None
    severity: Severity
    observed_at: UtcDatetime
    received_at: UtcDatetime
    street_key: str
    street: str
    city: str
    buurt_code: str | None
    openbareruimte_id: str | None
    has_person: bool = False
    subject_ref: str | None = None
    dataref: str | None = None


class FeedbackReceived(BaseModel):
    """Intake accepted feedback from a responder on a signal."""

    model_config = _FROZEN

    signal_id: SignalId
    partner_id: PartnerId
    kind: Literal["opgepakt", "afgehandeld"]
    outcome: Outcome | None
    received_at: UtcDatetime


class ResponderAssigned(BaseModel):
    """Routing assigned a signal to a responding partner."""

    model_config = _FROZEN

    signal_id: SignalId
    partner_id: PartnerId
    categorie: Categorie
    street_key: str
    buurt_code: str | None
    rule_id: str
    ruleset_version: str
    acknowledge_by: UtcDatetime | None
    assigned_at: UtcDatetime


class ResponderEscalated(BaseModel):
    """Routing moved a signal to another partner, e.g. after a missed acknowledge deadline."""

    model_config = _FROZEN

    signal_id: SignalId
    from_partner_id: PartnerId
    to_partner_id: PartnerId
    reason: str
    escalated_at: UtcDatetime
    acknowledge_by: UtcDatetime | None


class SignalAcknowledged(BaseModel):
    """The assigned partner took the signal on."""

    model_config = _FROZEN

    signal_id: SignalId
    partner_id: PartnerId
    acknowledged_at: UtcDatetime


class SignalResolved(BaseModel):
    """The assigned partner finished the signal."""

    model_config = _FROZEN

    signal_id: SignalId
    partner_id: PartnerId
    outcome: Outcome
    resolved_at: UtcDatetime


class StreetThresholdCrossed(BaseModel):
    """A street collected enough signals in a window to call for a joint approach."""

    model_config = _FROZEN

    street_key: str
    street: str
    city: str
    buurt_code: str | None
    rule_id: str
    window_days: Annotated[int, Field(gt=0)]
    counts: dict[str, int]
    advice: str
    crossed_at: UtcDatetime


EVENT_TYPES: dict[str, type[BaseModel]] = {
    SIGNAL_ACCEPTED_TYPE: SignalAccepted,
    FEEDBACK_RECEIVED_TYPE: FeedbackReceived,
    ROUTING_ASSIGNED_TYPE: ResponderAssigned,
    ROUTING_ESCALATED_TYPE: ResponderEscalated,
    ROUTING_ACKNOWLEDGED_TYPE: SignalAcknowledged,
    ROUTING_RESOLVED_TYPE: SignalResolved,
    STREET_THRESHOLD_CROSSED_TYPE: StreetThresholdCrossed,
    **dict.fromkeys(RECEIPT_TYPES, ReceiptData),
}
"""Every type string wijkbus publishes, mapped to the model of its `data`."""
