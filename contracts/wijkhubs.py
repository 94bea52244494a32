"""The wijkhub's events (topic wijkhubs.events), past tense: advised, opened, declined, extended,
closed; and the evaluation a closed hub carries (numbers only).

No personal data travels here: a hub's contact person is sealed in routing, and only the
contact's role is part of an event. Kafka key and CloudEvent subject: the hub id (the advice
and a decision not to open a hub: the street key).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from contracts.fields import PartnerId, UtcDatetime

WIJKHUB_ADVISED_TYPE = "nl.wijkaanpak.wijkhub.advised"
WIJKHUB_OPENED_TYPE = "nl.wijkaanpak.wijkhub.opened"
WIJKHUB_DECLINED_TYPE = "nl.wijkaanpak.wijkhub.declined"
WIJKHUB_EXTENDED_TYPE = "nl.wijkaanpak.wijkhub.extended"
WIJKHUB_CLOSED_TYPE = "nl.wijkaanpak.wijkhub.closed"

_FROZEN = ConfigDict(frozen=True, extra="forbid")
HubId = Annotated[str, Field(pattern=r"^hub-[0-9a-f]{32}$")]


class WijkhubAdvised(BaseModel):
    """A street crossed a threshold whose advice is a wijkhub: the wijkteam is to decide."""

    model_config = _FROZEN

    street_key: str
    street: str
    city: str
    buurt_code: str | None
    rule_id: str
    window_days: Annotated[int, Field(gt=0)]
    counts: dict[str, int]
    advice: str
    advised_at: UtcDatetime


class WijkhubOpened(BaseModel):
    """The gebiedsmanager opened a wijkhub: where, when, who takes part and what for."""

    model_config = _FROZEN

    hub_id: HubId
    street_keys: tuple[str, ...]
    buurt_code: str | None
    city: str
    address: str
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    partners: tuple[PartnerId, ...]
    contact_role: str
    aims: str
    opened_by: str
    opened_at: UtcDatetime


class WijkhubDeclined(BaseModel):
    """The wijkteam decided not to open a wijkhub on a street's advice, and why."""

    model_config = _FROZEN

    street_key: str
    street: str
    city: str
    buurt_code: str | None
    reason: str
    declined_by: str
    declined_at: UtcDatetime


class WijkhubExtended(BaseModel):
    """A running wijkhub got a later end."""

    model_config = _FROZEN

    hub_id: HubId
    address: str
    city: str
    street_keys: tuple[str, ...]
    buurt_code: str | None
    partners: tuple[PartnerId, ...]
    previous_ends_at: UtcDatetime
    ends_at: UtcDatetime
    extended_by: str
    extended_at: UtcDatetime


class WindowFigures(BaseModel):
    """Incidents in one window of time: in all, per week, and per categorie."""

    model_config = _FROZEN

    start: UtcDatetime
    end: UtcDatetime
    weeks: float
    incidents: int
    per_week: float
    per_street_week: float | None
    per_categorie: dict[str, int]


class ResponseTimes(BaseModel):
    """How fast the signals observed in a window were taken on (opgepakt) and finished
    (afgehandeld), in hours from intake's acceptance; None when there were none."""

    model_config = _FROZEN

    signals: int
    opgepakt: int
    afgehandeld: int
    opgepakt_median_hours: float | None
    opgepakt_p90_hours: float | None
    afgehandeld_median_hours: float | None
    afgehandeld_p90_hours: float | None


class GroupFigures(BaseModel):
    """One group of streets (the hub's, or the buurt's other streets) before, during, after."""

    model_config = _FROZEN

    streets: int
    before: WindowFigures
    during: WindowFigures
    after: WindowFigures | None
    response_before: ResponseTimes
    response_during: ResponseTimes


class WeekPoint(BaseModel):
    """Incidents in one week: the hub's streets, and per street of the comparison streets."""

    model_config = _FROZEN

    week_start: UtcDatetime
    hub: int
    comparison_per_street: float | None


class WijkhubEvaluation(BaseModel):
    """What a wijkhub changed, as far as the incidents show: an indication, not proof of cause.

    `difference_in_differences` is the change in incidents per street per week on the hub's
    streets (during minus before) minus the same change on the buurt's other streets; None when
    the buurt has no other streets with incidents to compare with.
    """

    model_config = _FROZEN

    hub_id: HubId
    as_of: UtcDatetime
    period_start: UtcDatetime
    period_end: UtcDatetime
    baseline_weeks: float
    hub: GroupFigures
    comparison: GroupFigures | None
    difference_in_differences: float | None
    weekly: tuple[WeekPoint, ...]


class WijkhubClosed(BaseModel):
    """A wijkhub closed, with the team's own outcome note and its evaluation (numbers only)."""

    model_config = _FROZEN

    hub_id: HubId
    address: str
    city: str
    street_keys: tuple[str, ...]
    buurt_code: str | None
    partners: tuple[PartnerId, ...]
    outcome_note: str
    closed_by: str
    closed_at: UtcDatetime
    evaluation: WijkhubEvaluation


WIJKHUB_EVENT_TYPES: dict[str, type[BaseModel]] = {
    WIJKHUB_ADVISED_TYPE: WijkhubAdvised,
    WIJKHUB_OPENED_TYPE: WijkhubOpened,
    WIJKHUB_DECLINED_TYPE: WijkhubDeclined,
    WIJKHUB_EXTENDED_TYPE: WijkhubExtended,
    WIJKHUB_CLOSED_TYPE: WijkhubClosed,
}
"""The wijkhub's event types."""
