"""Internal events wijkbus services publish, named in the past tense, and their types."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.fields import PartnerId, SignalId, UtcDatetime
from contracts.receipts import RECEIPT_TYPES, ReceiptData
from contracts.signals import Categorie, Outcome, Severity
from contracts.wijkhubs import WIJKHUB_EVENT_TYPES

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
    # The street as a person reads it (street level, no house number); absent in events
    # published before this field existed.
    street: str | None = None
    city: str | None = None
    # The wijkhub whose period and streets the signal fell in (rules may match on it).
    wijkhub_id: str | None = None


class ResponderEscalated(BaseModel):
    """Routing moved a signal to another partner, e.g. after a missed acknowledge deadline."""

    model_config = _FROZEN

    signal_id: SignalId
    from_partner_id: PartnerId
    to_partner_id: PartnerId
    reason: str
    escalated_at: UtcDatetime
    acknowledge_by: UtcDatetime | None
    # Where the signal is (street level), so subscribers filtering on a street or buurt hear
    # the whole lifecycle; absent in events published before these fields existed.
    street_key: str | None = None
    buurt_code: str | None = None


class SignalAcknowledged(BaseModel):
    """The assigned partner took the signal on."""

    model_config = _FROZEN

    signal_id: SignalId
    partner_id: PartnerId
    acknowledged_at: UtcDatetime
    # Where the signal is (street level), so subscribers filtering on a street or buurt hear
    # the whole lifecycle; absent in events published before these fields existed.
    street_key: str | None = None
    buurt_code: str | None = None


class SignalResolved(BaseModel):
    """The assigned partner finished the signal."""

    model_config = _FROZEN

    signal_id: SignalId
    partner_id: PartnerId
    outcome: Outcome
    resolved_at: UtcDatetime
    # Where the signal is (street level), so subscribers filtering on a street or buurt hear
    # the whole lifecycle; absent in events published before these fields existed.
    street_key: str | None = None
    buurt_code: str | None = None


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


# --- The buurtbudget (services/budget) -------------------------------------------------------
# No household, address, code or initiator contact travels in these events: support is counted,
# never attributed. Kafka key: the initiative id (the year closing: municipality:year).

INITIATIVE_PROPOSED_TYPE = "nl.wijkaanpak.budget.initiative-proposed"
INITIATIVE_ADMITTED_TYPE = "nl.wijkaanpak.budget.initiative-admitted"
INITIATIVE_DECLINED_TYPE = "nl.wijkaanpak.budget.initiative-declined"
INITIATIVE_SUPPORTED_TYPE = "nl.wijkaanpak.budget.initiative-supported"
INITIATIVE_SUPPORT_WITHDRAWN_TYPE = "nl.wijkaanpak.budget.initiative-support-withdrawn"
INITIATIVE_FUNDED_TYPE = "nl.wijkaanpak.budget.initiative-funded"
INITIATIVE_NOT_FUNDED_TYPE = "nl.wijkaanpak.budget.initiative-not-funded"
INITIATIVE_WITHDRAWN_TYPE = "nl.wijkaanpak.budget.initiative-withdrawn"
BALLOT_CAST_TYPE = "nl.wijkaanpak.budget.ballot-cast"
BUDGET_YEAR_CLOSED_TYPE = "nl.wijkaanpak.budget.year-closed"
ROUND_DECIDED_TYPE = "nl.wijkaanpak.budget.round-decided"

FundingRule = Literal["pledge", "majority", "vote"]


class InitiativeProposed(BaseModel):
    """A resident proposed an initiative for their buurt (the contact stays sealed in budget)."""

    model_config = _FROZEN

    initiative_id: str
    municipality: str
    year: int
    buurt_code: str
    title: str
    cost_cents: Annotated[int, Field(gt=0)]
    funding_rule: FundingRule
    proposed_at: UtcDatetime


class InitiativeAdmitted(BaseModel):
    """An operator admitted an initiative: open for support until its deadline."""

    model_config = _FROZEN

    initiative_id: str
    buurt_code: str
    deadline: UtcDatetime
    admitted_at: UtcDatetime


class InitiativeDeclined(BaseModel):
    """An operator declined an initiative, with the reason."""

    model_config = _FROZEN

    initiative_id: str
    buurt_code: str
    reason: str
    declined_at: UtcDatetime
    title: str = ""  # what the initiator called it, so their mail names it (added later: optional)


class InitiativeSupported(BaseModel):
    """One more household supports (pledges to) an initiative; counts only, no household."""

    model_config = _FROZEN

    initiative_id: str
    buurt_code: str
    funding_rule: FundingRule
    supporters: int
    have: int
    need: int
    supported_at: UtcDatetime


class InitiativeSupportWithdrawn(BaseModel):
    """A household took its pledge back before the deadline; counts only."""

    model_config = _FROZEN

    initiative_id: str
    buurt_code: str
    supporters: int
    withdrawn_at: UtcDatetime


class InitiativeFunded(BaseModel):
    """An initiative is funded by its rule (pledges cover the cost, or a majority supports it)."""

    model_config = _FROZEN

    initiative_id: str
    buurt_code: str
    funding_rule: FundingRule
    cost_cents: int
    supporters: int
    reason: str
    funded_at: UtcDatetime


class InitiativeNotFunded(BaseModel):
    """An initiative's deadline (or year) ended without enough support."""

    model_config = _FROZEN

    initiative_id: str
    buurt_code: str
    funding_rule: FundingRule
    cost_cents: int
    supporters: int
    reason: str
    decided_at: UtcDatetime


class InitiativeWithdrawn(BaseModel):
    """The initiator withdrew an initiative; pledges to it are released."""

    model_config = _FROZEN

    initiative_id: str
    buurt_code: str
    withdrawn_at: UtcDatetime


class BallotCast(BaseModel):
    """A ballot was cast in a vote round (neither the voter nor the choice is in the event)."""

    model_config = _FROZEN

    round_id: str
    cast_at: UtcDatetime
    # The round's buurt, so subscribers filtering on a buurt hear its votes; absent in events
    # published before this field existed.
    buurt_code: str | None = None


class RoundDecided(BaseModel):
    """A vote round was decided: its rule, the winners in order, what was spent, the project
    funded in part from the leftover (if any), and whether a tie decided the last place."""

    model_config = _FROZEN

    round_id: str
    buurt_code: str | None = None
    rule: str
    selected: tuple[str, ...]
    spent: int
    partial_project_id: str | None = None
    partial_amount: int | None = None
    tie: bool = False
    decided_at: UtcDatetime


class BudgetYearClosed(BaseModel):
    """A municipality closed a buurtbudget year: what was spent and what lapsed."""

    model_config = _FROZEN

    municipality: str
    year: int
    households: int
    allowance_cents: int
    total_cents: int
    spent_cents: int
    lapsed_cents: int
    funded: int
    not_funded: int
    closed_at: UtcDatetime


BUDGET_EVENT_TYPES: dict[str, type[BaseModel]] = {
    INITIATIVE_PROPOSED_TYPE: InitiativeProposed,
    INITIATIVE_ADMITTED_TYPE: InitiativeAdmitted,
    INITIATIVE_DECLINED_TYPE: InitiativeDeclined,
    INITIATIVE_SUPPORTED_TYPE: InitiativeSupported,
    INITIATIVE_SUPPORT_WITHDRAWN_TYPE: InitiativeSupportWithdrawn,
    INITIATIVE_FUNDED_TYPE: InitiativeFunded,
    INITIATIVE_NOT_FUNDED_TYPE: InitiativeNotFunded,
    INITIATIVE_WITHDRAWN_TYPE: InitiativeWithdrawn,
    BALLOT_CAST_TYPE: BallotCast,
    BUDGET_YEAR_CLOSED_TYPE: BudgetYearClosed,
    ROUND_DECIDED_TYPE: RoundDecided,
}
"""The buurtbudget's event types."""

EVENT_TYPES.update(BUDGET_EVENT_TYPES)
EVENT_TYPES.update(WIJKHUB_EVENT_TYPES)
