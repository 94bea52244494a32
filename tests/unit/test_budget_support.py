"""The pledge and majority rules for initiatives, on hand-made households."""

from __future__ import annotations

import pytest

from services.budget.domain import AlreadyPledgedError, Pledge, accept_pledge, majority, pledge


def test_pledge_funds_an_initiative_once_the_allowances_cover_its_cost() -> None:
    two = [Pledge("h1", "bankje", 2026), Pledge("h2", "bankje", 2026)]
    short = pledge(2500, 1000, two)
    assert (short.funded, short.have, short.need) == (False, 2000, 2500)
    assert short.reason == "nog €5,00 nodig van de kosten"
    assert pledge(2500, 1000, [*two, Pledge("h3", "bankje", 2026)]).funded


def test_pledge_counts_a_household_once_even_if_its_pledge_arrives_twice() -> None:
    twice = [Pledge("h1", "bankje", 2026), Pledge("h1", "bankje", 2026)]
    assert pledge(1500, 1000, twice).have == 1000


def test_a_household_pledges_once_a_year_to_one_initiative() -> None:
    earlier = [Pledge("h1", "bankje", 2026)]
    with pytest.raises(AlreadyPledgedError):
        accept_pledge(earlier, Pledge("h1", "moestuin", 2026))
    assert accept_pledge(earlier, Pledge("h1", "moestuin", 2027)).year == 2027
    assert accept_pledge(earlier, Pledge("h2", "moestuin", 2026)).household_id == "h2"


def test_majority_needs_more_than_half_of_the_buurts_households() -> None:
    buurt = ["h1", "h2", "h3", "h4"]
    half = majority(["h1", "h2"], buurt)
    assert (half.funded, half.have, half.need) == (False, 2, 3)
    assert half.reason == "nog 1 huishoudens nodig voor een meerderheid"
    assert majority(["h1", "h2", "h3"], buurt).funded
    assert majority(["h1", "h2", "h3"], [*buurt, "h5"]).funded


def test_majority_ignores_support_from_outside_the_buurt_and_an_empty_buurt() -> None:
    assert not majority(["h1", "elders1", "elders2"], ["h1", "h2", "h3"]).funded
    assert not majority([], []).funded
