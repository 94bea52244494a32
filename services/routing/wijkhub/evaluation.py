"""What a wijkhub changed, as far as the incidents show: the definition the report cites.

Pure: no I/O and no clock; the moment of the evaluation (`as_of`) is passed in.

- Only incidents that intake had accepted by `as_of` (received_at <= as_of) count at all, so the
  evaluation as of a moment is a function of what was known then, and a replay equals live.
- L is the hub's period (end - start); the baseline is `baseline_weeks` weeks, or L when not
  given. By the moment an incident was observed, the windows are:
  before = [start - baseline, start), during = [start, min(end, as_of)),
  after = [end, min(end + L, as_of)), and no after window while as_of <= end.
  (A window that as_of has not reached yet is empty: zero weeks, zero per week.)
- Per window: the incidents, its length in weeks, incidents per week, per street per week
  (None for a group of no streets) and per categorie.
- Response times of the incidents observed in a window, in hours from intake's acceptance:
  opgepakt (acknowledged by as_of) and afgehandeld (resolved by as_of), the median and the
  90th percentile by nearest rank (the ceil(0.9 n)-th smallest); None when there are none.
- The comparison group is the buurt's other streets; none when it has no streets.
  difference_in_differences = (hub during - hub before) - (comparison during - comparison
  before), in incidents per street per week: below zero, the hub's streets improved more than
  the rest of the buurt. An indication, not proof that the hub was the cause.
- Weekly: 7-day weeks from start - baseline up to min(end + L, as_of), the last one possibly
  partial: the hub's incidents, and the comparison's per street.
- Every figure is rounded to 3 decimals (from the exact value), so the JSON is stable.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from contracts.wijkhubs import (
    GroupFigures,
    ResponseTimes,
    WeekPoint,
    WijkhubEvaluation,
    WindowFigures,
)

WEEK = timedelta(weeks=1)
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Incident:
    """One incident on a street: when it happened, was accepted, taken on and finished."""

    street_key: str
    categorie: str
    observed_at: datetime
    received_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None


@dataclass(frozen=True)
class HubPeriod:
    """A hub's period: how many streets it covers, its start and its effective end."""

    hub_id: str
    streets: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Window:
    """A half-open span of time [start, end)."""

    start: datetime
    end: datetime

    def holds(self, incident: Incident) -> bool:
        """Whether the incident was observed in this window."""
        return self.start <= incident.observed_at < self.end


@dataclass(frozen=True)
class Windows:
    """The before, during and (once the hub ended) after windows of one evaluation."""

    before: Window
    during: Window
    after: Window | None
    as_of: datetime


def evaluate(
    period: HubPeriod,
    hub: Sequence[Incident],
    comparison: Sequence[Incident],
    comparison_streets: int,
    as_of: datetime,
    baseline_weeks: float | None = None,
) -> WijkhubEvaluation:
    """The evaluation of a hub's period as of a moment (see the module's rules)."""
    if period.end < period.start:
        raise ValueError("a hub's period cannot end before it starts")
    length = period.end - period.start
    baseline = length if baseline_weeks is None else timedelta(weeks=baseline_weeks)
    windows = _windows(period, baseline, as_of)
    hub_known = _known(hub, as_of)
    comparison_known = _known(comparison, as_of)
    hub_group = _group(period.streets, hub_known, windows)
    comparison_group = (
        _group(comparison_streets, comparison_known, windows) if comparison_streets else None
    )
    weekly = _weekly(
        windows.before.start,
        min(period.end + length, as_of),
        hub_known,
        comparison_known,
        comparison_streets,
    )
    return WijkhubEvaluation(
        hub_id=period.hub_id,
        as_of=as_of,
        period_start=period.start,
        period_end=period.end,
        baseline_weeks=round(baseline / WEEK, 3),
        hub=hub_group,
        comparison=comparison_group,
        difference_in_differences=_difference_in_differences(hub_group, comparison_group),
        weekly=weekly,
    )


def _windows(period: HubPeriod, baseline: timedelta, as_of: datetime) -> Windows:
    length = period.end - period.start
    before = Window(period.start - baseline, period.start)
    during = Window(period.start, max(period.start, min(period.end, as_of)))
    after = Window(period.end, min(period.end + length, as_of)) if as_of > period.end else None
    return Windows(before, during, after, as_of)


def _known(incidents: Sequence[Incident], as_of: datetime) -> list[Incident]:
    return [i for i in incidents if i.received_at <= as_of]


def _group(streets: int, incidents: list[Incident], windows: Windows) -> GroupFigures:
    return GroupFigures(
        streets=streets,
        before=_figures(windows.before, streets, incidents),
        during=_figures(windows.during, streets, incidents),
        after=_figures(windows.after, streets, incidents) if windows.after else None,
        response_before=_response(windows.before, incidents, windows.as_of),
        response_during=_response(windows.during, incidents, windows.as_of),
    )


def _figures(window: Window, streets: int, incidents: list[Incident]) -> WindowFigures:
    inside = [i for i in incidents if window.holds(i)]
    weeks = (window.end - window.start) / WEEK
    per_week = len(inside) / weeks if weeks > 0 else 0.0
    return WindowFigures(
        start=window.start,
        end=window.end,
        weeks=round(weeks, 3),
        incidents=len(inside),
        per_week=round(per_week, 3),
        per_street_week=round(per_week / streets, 3) if streets else None,
        per_categorie=dict(sorted(Counter(i.categorie for i in inside).items())),
    )


def _response(window: Window, incidents: list[Incident], as_of: datetime) -> ResponseTimes:
    inside = [i for i in incidents if window.holds(i)]
    taken_on = _hours(inside, lambda i: i.acknowledged_at, as_of)
    finished = _hours(inside, lambda i: i.resolved_at, as_of)
    return ResponseTimes(
        signals=len(inside),
        opgepakt=len(taken_on),
        afgehandeld=len(finished),
        opgepakt_median_hours=_median(taken_on),
        opgepakt_p90_hours=_p90(taken_on),
        afgehandeld_median_hours=_median(finished),
        afgehandeld_p90_hours=_p90(finished),
    )


def _hours(
    incidents: list[Incident], moment: Callable[[Incident], datetime | None], as_of: datetime
) -> list[float]:
    """Hours from acceptance to `moment`, for the incidents whose moment had come by as_of."""
    return [(at - i.received_at) / HOUR for i in incidents if (at := moment(i)) and at <= as_of]


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def _p90(values: list[float]) -> float | None:
    """The 90th percentile by nearest rank: the ceil(0.9 n)-th smallest value."""
    if not values:
        return None
    return round(sorted(values)[math.ceil(0.9 * len(values)) - 1], 3)


def _difference_in_differences(hub: GroupFigures, other: GroupFigures | None) -> float | None:
    hub_change = _change(hub)
    other_change = _change(other) if other else None
    if hub_change is None or other_change is None:
        return None
    return round(hub_change - other_change, 3)


def _change(group: GroupFigures) -> float | None:
    """During minus before, in incidents per street per week (as rounded in the figures)."""
    during, before = group.during.per_street_week, group.before.per_street_week
    return None if during is None or before is None else during - before


def _weekly(
    origin: datetime,
    stop: datetime,
    hub: list[Incident],
    comparison: list[Incident],
    comparison_streets: int,
) -> tuple[WeekPoint, ...]:
    points = []
    week_start = origin
    while week_start < stop:
        week = Window(week_start, min(week_start + WEEK, stop))
        others = sum(1 for i in comparison if week.holds(i))
        points.append(
            WeekPoint(
                week_start=week_start,
                hub=sum(1 for i in hub if week.holds(i)),
                comparison_per_street=(
                    round(others / comparison_streets, 3) if comparison_streets else None
                ),
            )
        )
        week_start += WEEK
    return tuple(points)
