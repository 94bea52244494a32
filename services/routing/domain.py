"""Routing's rules: which partner responds first, by the wijkteam's agreed rule set (read and
checked from its YAML by `rule_parsing`).

Pure: no I/O and no clock; the handler passes in the rule set, the signal and the time.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, tzinfo
from functools import cached_property, lru_cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
)

from contracts.events import ResponderAssigned, SignalAccepted
from contracts.signals import Categorie, Severity
from services.routing.hours import (
    HoursKind,
    TimeWindow,
    Weekday,
    WorkingHours,
    deadline,
    weekday_of,
)

_RULES = ConfigDict(frozen=True, extra="forbid")
BuurtCode = Annotated[str, Field(pattern=r"^BU[0-9A-Za-z]{8}$")]
WijkCode = Annotated[str, Field(pattern=r"^WK[0-9A-Za-z]{6}$")]
Hours = Annotated[float, Field(gt=0, le=24 * 365)]


def _scalar_text(value: Any) -> Any:
    # YAML reads `version: 3` as an int and `version: 2026-11-01` as a date; both name a version.
    if isinstance(value, bool):
        return value
    return str(value) if isinstance(value, int | float) or hasattr(value, "isoformat") else value


class MinRecent(BaseModel):
    """The street had at least `count` incidents (of these categories) in the last `days` days."""

    model_config = _RULES

    days: Annotated[int, Field(gt=0, le=366)]
    count: Annotated[int, Field(gt=0)]
    categorie: tuple[Categorie, ...] | None = Field(None, min_length=1)

    @property
    def window(self) -> RecentWindow:
        """The count this condition needs from the street projection."""
        return (self.days, self.categorie)


# (days, categories or None for all): the key of a street's recent incident count.
RecentWindow = tuple[int, tuple[Categorie, ...] | None]


class Match(BaseModel):
    """What a signal must have for a rule to apply: every key given must match one of its values."""

    model_config = _RULES

    categorie: tuple[Categorie, ...] | None = Field(None, min_length=1)
    subcategorie: tuple[Annotated[str, Field(min_length=1)], ...] | None = Field(None, min_length=1)
    buurt: tuple[BuurtCode, ...] | None = Field(None, min_length=1)
    wijk: tuple[WijkCode, ...] | None = Field(None, min_length=1)
    severity: tuple[Severity, ...] | None = Field(None, min_length=1)
    weekday: tuple[Weekday, ...] | None = Field(None, min_length=1)
    time_of_day: TimeWindow | None = None
    min_recent: MinRecent | None = None
    wijkhub: bool | None = None

    def matches(
        self,
        signal: SignalAccepted,
        zone: ZoneInfo,
        recent: Mapping[RecentWindow, int],
        wijkhub: bool = False,
    ) -> bool:
        """Whether `signal` meets every condition of this match.

        Weekday and time of day are those at which the signal was observed (`observed_at`), in
        the municipality's time zone, as are the windows of `min_recent`: the wijkteam agreed
        that "noise at night" is noise observed at night, even when it is reported the next
        morning. The event carries the time, so a replay routes it exactly as it was routed
        live. `wijkhub` says whether the signal reached routing while a wijkhub ran on its
        street: that is about who can respond now, not about when it happened.
        """
        buurt = signal.buurt_code
        sub = signal.subcategory.strip().lower() if signal.subcategory else None
        # Local time only when asked for: a rebuild matches every signal against every rule.
        return (
            _allows(self.categorie, signal.categorie)
            and _allows(self.subcategorie, sub)
            and _allows(self.severity, signal.severity)
            and (self.wijkhub is None or self.wijkhub == wijkhub)
            and _allows(self.buurt, buurt)
            and _allows(self.wijk, wijk_of(buurt) if buurt else None)
            and (self.weekday is None or weekday_of(signal.observed_at, zone) in self.weekday)
            and (
                self.time_of_day is None
                or self.time_of_day.contains(signal.observed_at.astimezone(zone).time())
            )
            and (
                self.min_recent is None
                or recent.get(self.min_recent.window, 0) >= self.min_recent.count
            )
        )

    @field_validator("subcategorie")
    @classmethod
    def _lower(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return tuple(v.strip().lower() for v in value) if value else value


class Escalation(BaseModel):
    """The next partner in a rule's chain, and how long it gets to acknowledge."""

    model_config = _RULES

    partner: str
    acknowledge_within_hours: Hours


class Rule(BaseModel):
    """One agreement: signals that match go to `responder` first."""

    model_config = _RULES

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    match: Match | None = None
    default: bool = False
    responder: str
    acknowledge_within_hours: Hours
    hours: HoursKind = "kalenderuren"
    escalation: tuple[Escalation, ...] = ()

    def applies_to(
        self,
        signal: SignalAccepted,
        zone: ZoneInfo,
        recent: Mapping[RecentWindow, int],
        wijkhub: bool = False,
    ) -> bool:
        """Whether this rule chooses the responder for `signal`."""
        return self.default or (
            self.match is not None and self.match.matches(signal, zone, recent, wijkhub)
        )


class Threshold(BaseModel):
    """`count` or more incidents of these categories in one street within `window_days`."""

    model_config = _RULES

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    categorie: tuple[Categorie, ...] = Field(min_length=1)
    window_days: Annotated[int, Field(gt=0, le=366)]
    count: Annotated[int, Field(gt=0)]
    advice: Annotated[str, Field(min_length=1, max_length=500)]
    # Whether the advice is a wijkhub: crossing then also puts one to the wijkteam
    # (wijkhub.advised, and "advies wijkhub" on the dashboard).
    wijkhub: bool = True


class RuleSet(BaseModel):
    """A municipality's routing rules, in order; the last one is the default."""

    model_config = _RULES

    version: Annotated[str, BeforeValidator(_scalar_text), Field(min_length=1, max_length=64)]
    municipality: Annotated[str, Field(min_length=1)]
    timezone: str = "Europe/Amsterdam"
    working_hours: WorkingHours = WorkingHours()
    gebiedsmanager: str | None = None
    rules: tuple[Rule, ...]
    thresholds: tuple[Threshold, ...] = ()
    text: str = Field("", exclude=True, repr=False)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @cached_property
    def zone(self) -> ZoneInfo:
        """The municipality's time zone."""
        return ZoneInfo(self.timezone)

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id."""
        return next(r for r in self.rules if r.id == rule_id)

    def threshold(self, threshold_id: str) -> Threshold:
        """The threshold with this id."""
        return next(t for t in self.thresholds if t.id == threshold_id)

    def recent_windows(self) -> set[RecentWindow]:
        """Every recent-incident count some rule's match asks for."""
        return {r.match.min_recent.window for r in self.rules if r.match and r.match.min_recent}

    def deadline(self, start: datetime, hours: float, kind: HoursKind) -> datetime:
        """`hours` calendar or working hours after `start`, by this municipality's week."""
        return _deadline(start, start.tzinfo, hours, kind, self.working_hours, self.zone)


@lru_cache(maxsize=256)
def _deadline(
    start: datetime,
    tz: tzinfo | None,
    hours: float,
    kind: HoursKind,
    working: WorkingHours,
    zone: ZoneInfo,
) -> datetime:
    # Remembered: a batch is assigned at one moment, so its signals share a few deadlines.
    # `tz` is part of the key because equal moments in other zones give the result in theirs.
    return deadline(start, hours, kind, working, zone)


def wijk_of(buurt_code: str) -> str:
    """The wijk a buurt lies in: BU+gggg+ww+bb lies in WK+gggg+ww."""
    return "WK" + buurt_code[2:8]


def _allows(allowed: Collection[Any] | None, value: Any) -> bool:
    return allowed is None or value in allowed


def choose_rule(
    ruleset: RuleSet,
    signal: SignalAccepted,
    recent: Mapping[RecentWindow, int] | None = None,
    wijkhub: bool = False,
) -> Rule:
    """The first rule that applies to `signal` (the default when no other does).

    `recent` holds the street's incident counts for the windows of `ruleset.recent_windows()`;
    `wijkhub` whether the signal fell in a running wijkhub.
    """
    counts = recent or {}
    return next(r for r in ruleset.rules if r.applies_to(signal, ruleset.zone, counts, wijkhub))


def assign(
    ruleset: RuleSet,
    signal: SignalAccepted,
    now: datetime,
    recent: Mapping[RecentWindow, int] | None = None,
    wijkhub_id: str | None = None,
) -> ResponderAssigned:
    """Assign `signal` to the first responder of the rule that chooses it, with its deadline;
    `wijkhub_id` names the running wijkhub the signal fell in."""
    rule = choose_rule(ruleset, signal, recent, wijkhub_id is not None)
    return ResponderAssigned(
        signal_id=signal.signal_id,
        partner_id=rule.responder,
        categorie=signal.categorie,
        street_key=signal.street_key,
        buurt_code=signal.buurt_code,
        rule_id=rule.id,
        ruleset_version=ruleset.version,
        acknowledge_by=ruleset.deadline(now, rule.acknowledge_within_hours, rule.hours),
        assigned_at=now,
        street=signal.street,
        city=signal.city,
        wijkhub_id=wijkhub_id,
    )
