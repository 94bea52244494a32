"""The wijkhub's evaluation, by hand-computed cases: windows, rates, response times, weeks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.routing.wijkhub.evaluation import HubPeriod, Incident, evaluate

START = datetime(2026, 12, 1, tzinfo=UTC)
END = datetime(2026, 12, 15, tzinfo=UTC)  # two weeks, so the baseline is two weeks too
PERIOD = HubPeriod(hub_id="hub-" + "a" * 32, streets=1, start=START, end=END)
AFTER_ALL = datetime(2027, 1, 5, tzinfo=UTC)


def at(day: float) -> datetime:
    """A moment `day` days after the hub's start (negative: before it)."""
    return START + timedelta(days=day)


def incident(
    day: float,
    *,
    categorie: str = "overlast",
    received_after: float = 0.0,
    ack_hours: float | None = None,
    resolve_hours: float | None = None,
) -> Incident:
    """An incident observed on `day`, accepted `received_after` hours later."""
    received = at(day) + timedelta(hours=received_after)
    return Incident(
        street_key="bag:1",
        categorie=categorie,
        observed_at=at(day),
        received_at=received,
        acknowledged_at=None if ack_hours is None else received + timedelta(hours=ack_hours),
        resolved_at=None if resolve_hours is None else received + timedelta(hours=resolve_hours),
    )


def test_the_windows_count_per_week_per_street_and_the_difference_in_differences() -> None:
    hub = [incident(d) for d in (-14, -10, -5, -1)] + [incident(3)] + [incident(15), incident(20)]
    comparison = [incident(d) for d in range(-14, 0, 2)][:6] + [incident(d) for d in range(6)]
    result = evaluate(PERIOD, hub, comparison, 3, as_of=datetime(2026, 12, 29, tzinfo=UTC))
    assert (result.hub.before.start, result.hub.before.end) == (at(-14), START)
    assert (result.hub.before.incidents, result.hub.before.weeks) == (4, 2.0)
    assert (result.hub.before.per_week, result.hub.before.per_street_week) == (2.0, 2.0)
    assert (result.hub.during.incidents, result.hub.during.per_week) == (1, 0.5)
    assert result.hub.after is not None
    assert (result.hub.after.start, result.hub.after.end) == (END, at(28))
    assert (result.hub.after.incidents, result.hub.after.per_week) == (2, 1.0)
    assert result.comparison is not None
    assert (result.comparison.before.per_week, result.comparison.before.per_street_week) == (
        3.0,
        1.0,
    )
    assert result.comparison.during.per_street_week == 1.0
    # (0.5 - 2.0) - (1.0 - 1.0): the hub's streets improved, the rest of the buurt did not.
    assert result.difference_in_differences == -1.5
    assert result.baseline_weeks == 2.0
    assert (result.period_start, result.period_end) == (START, END)


def test_a_street_that_got_worse_than_the_buurt_gives_a_positive_difference() -> None:
    hub = [incident(-3)] + [incident(d) for d in (1, 2, 3, 4)]
    result = evaluate(PERIOD, hub, [incident(-3), incident(3)], 1, as_of=AFTER_ALL)
    assert result.difference_in_differences == (2.0 - 0.5) - (0.5 - 0.5)


def test_there_is_no_after_window_until_the_hub_has_ended() -> None:
    hub = [incident(2), incident(9), incident(16)]
    result = evaluate(PERIOD, hub, [], 0, as_of=at(7))
    assert result.hub.after is None
    assert (result.hub.during.end, result.hub.during.weeks) == (at(7), 1.0)
    assert result.hub.during.incidents == 1
    assert evaluate(PERIOD, hub, [], 0, as_of=END).hub.after is None


def test_an_incident_counts_only_once_intake_had_accepted_it() -> None:
    late = incident(-2, received_after=24 * 5)  # observed before, reported during the hub
    result = evaluate(PERIOD, [late, incident(-1)], [], 0, as_of=at(1))
    assert result.hub.before.incidents == 1
    assert evaluate(PERIOD, [late, incident(-1)], [], 0, as_of=at(4)).hub.before.incidents == 2


def test_incidents_outside_every_window_are_left_out() -> None:
    hub = [incident(-15), incident(-14), incident(14), incident(28)]
    result = evaluate(PERIOD, hub, [], 0, as_of=AFTER_ALL)
    assert result.hub.before.incidents == 1  # day -15 is before the baseline
    assert result.hub.during.incidents == 0  # day 14 is the end: it is after
    assert result.hub.after is not None and result.hub.after.incidents == 1


def test_the_90th_percentile_is_the_nearest_rank_and_the_median_the_middle() -> None:
    ten = [incident(1, ack_hours=h, resolve_hours=h * 10) for h in range(10, 0, -1)]
    times = evaluate(PERIOD, ten, [], 0, as_of=AFTER_ALL).hub.response_during
    assert (times.signals, times.opgepakt, times.afgehandeld) == (10, 10, 10)
    assert (times.opgepakt_median_hours, times.opgepakt_p90_hours) == (5.5, 9.0)
    assert (times.afgehandeld_median_hours, times.afgehandeld_p90_hours) == (55.0, 90.0)
    eleven = [*ten, incident(1, ack_hours=11)]
    times = evaluate(PERIOD, eleven, [], 0, as_of=AFTER_ALL).hub.response_during
    assert (times.opgepakt_median_hours, times.opgepakt_p90_hours) == (6.0, 10.0)


def test_an_acknowledgement_after_as_of_has_not_happened_yet() -> None:
    hub = [incident(1, ack_hours=2, resolve_hours=30), incident(1, ack_hours=48)]
    times = evaluate(PERIOD, hub, [], 0, as_of=at(1) + timedelta(hours=10)).hub.response_during
    assert (times.signals, times.opgepakt, times.afgehandeld) == (2, 1, 0)
    assert (times.opgepakt_median_hours, times.opgepakt_p90_hours) == (2.0, 2.0)
    assert times.afgehandeld_median_hours is None and times.afgehandeld_p90_hours is None


def test_response_times_are_measured_from_acceptance_not_observation() -> None:
    hub = [incident(-3, received_after=5, ack_hours=1.5)]
    times = evaluate(PERIOD, hub, [], 0, as_of=AFTER_ALL).hub.response_before
    assert times.opgepakt_median_hours == 1.5


def test_without_comparison_streets_there_is_no_comparison_and_no_difference() -> None:
    result = evaluate(PERIOD, [incident(1)], [incident(1)], 0, as_of=AFTER_ALL)
    assert result.comparison is None
    assert result.difference_in_differences is None
    assert all(week.comparison_per_street is None for week in result.weekly)


def test_a_hub_of_no_streets_has_no_rate_per_street_and_no_difference() -> None:
    period = HubPeriod(PERIOD.hub_id, 0, START, END)
    result = evaluate(period, [incident(1)], [incident(1)], 2, as_of=AFTER_ALL)
    assert result.hub.during.per_street_week is None
    assert result.difference_in_differences is None


def test_the_weeks_run_from_the_baseline_to_as_of_with_a_partial_last_week() -> None:
    hub = [incident(-13), incident(-12), incident(1), incident(22)]
    comparison = [incident(-13), incident(22), incident(22.5)]
    weekly = evaluate(PERIOD, hub, comparison, 4, as_of=at(24)).weekly
    assert [w.week_start for w in weekly] == [at(d) for d in (-14, -7, 0, 7, 14, 21)]
    assert [w.hub for w in weekly] == [2, 0, 1, 0, 0, 1]
    assert [w.comparison_per_street for w in weekly] == [0.25, 0.0, 0.0, 0.0, 0.0, 0.5]


def test_the_weeks_stop_one_period_after_the_end() -> None:
    weekly = evaluate(PERIOD, [incident(40)], [], 0, as_of=AFTER_ALL + timedelta(days=30)).weekly
    assert len(weekly) == 6
    assert sum(w.hub for w in weekly) == 0


def test_a_given_baseline_sets_the_before_window() -> None:
    hub = [incident(-10), incident(-6), incident(-1)]
    result = evaluate(PERIOD, hub, [], 0, as_of=AFTER_ALL, baseline_weeks=1)
    assert result.hub.before.start == at(-7)
    assert (result.hub.before.incidents, result.baseline_weeks) == (2, 1.0)
    assert result.weekly[0].week_start == at(-7)


def test_figures_are_rounded_to_three_decimals_and_categories_sorted() -> None:
    hub = [incident(-1, categorie="verkeer"), incident(-2, categorie="afval")]
    result = evaluate(PERIOD, hub, [], 0, as_of=AFTER_ALL, baseline_weeks=3)
    assert result.hub.before.per_week == 0.667
    assert list(result.hub.before.per_categorie) == ["afval", "verkeer"]
    short = evaluate(PERIOD, [], [], 0, as_of=AFTER_ALL, baseline_weeks=0.5)
    assert short.baseline_weeks == 0.5 and short.hub.before.weeks == 0.5


def test_before_the_hub_starts_its_during_window_is_empty() -> None:
    result = evaluate(PERIOD, [incident(-3)], [], 0, as_of=at(-1))
    assert (result.hub.during.weeks, result.hub.during.per_week) == (0.0, 0.0)
    assert result.hub.during.incidents == 0 and result.hub.before.incidents == 1


def test_live_and_replay_agree_on_the_same_knowledge() -> None:
    hub = [incident(-3, ack_hours=2), incident(2, received_after=3, ack_hours=1)]
    as_of = at(5)
    assert evaluate(PERIOD, hub, [], 0, as_of) == evaluate(PERIOD, hub[::-1], [], 0, as_of)


def test_a_period_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="end before"):
        evaluate(HubPeriod(PERIOD.hub_id, 1, END, START), [], [], 0, as_of=AFTER_ALL)
