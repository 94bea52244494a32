"""An initiative's life and a year's account, on hand-made cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.budget.domain.initiatives import (
    Initiative,
    InitiativeStateError,
    Support,
    admit,
    check_open_for_support,
    close_year,
    decline,
    progress,
    settle,
    withdraw,
)

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
WEEK = timedelta(days=7)


def proposed(rule: str = "pledge", cost: int = 2500) -> Initiative:
    return Initiative("i1", "voorgesteld", cost, rule, None)  # type: ignore[arg-type]


def test_an_admitted_initiative_is_open_until_its_deadline() -> None:
    opened = admit(proposed(), NOW + WEEK, NOW)
    assert (opened.status, opened.deadline) == ("open", NOW + WEEK)
    check_open_for_support(opened, NOW + WEEK - timedelta(seconds=1))
    with pytest.raises(InitiativeStateError, match="deadline"):
        check_open_for_support(opened, NOW + WEEK)


def test_a_deadline_in_the_past_and_a_second_admission_are_refused() -> None:
    with pytest.raises(InitiativeStateError, match="toekomst"):
        admit(proposed(), NOW, NOW)
    with pytest.raises(InitiativeStateError, match="voorgesteld"):
        admit(admit(proposed(), NOW + WEEK, NOW), NOW + 2 * WEEK, NOW)


def test_declining_needs_a_reason_and_a_proposed_initiative() -> None:
    with pytest.raises(InitiativeStateError, match="reden"):
        decline(proposed(), "  ")
    assert decline(proposed(), "valt buiten de regels").status == "afgewezen"
    with pytest.raises(InitiativeStateError):
        decline(admit(proposed(), NOW + WEEK, NOW), "te laat")


def test_a_decided_initiative_cannot_be_withdrawn_or_supported() -> None:
    opened = admit(proposed(), NOW + WEEK, NOW)
    assert withdraw(opened).status == "ingetrokken"
    funded = Initiative("i1", "gefinancierd", 2500, "pledge", NOW + WEEK)
    with pytest.raises(InitiativeStateError, match="gefinancierd"):
        withdraw(funded)
    with pytest.raises(InitiativeStateError, match="gefinancierd"):
        check_open_for_support(funded, NOW)
    with pytest.raises(InitiativeStateError, match="stemronde"):
        check_open_for_support(admit(proposed("vote"), NOW + WEEK, NOW), NOW)


def test_pledges_fund_exactly_when_they_cover_the_cost() -> None:
    opened = admit(proposed(cost=2500), NOW + WEEK, NOW)
    assert not progress(opened, Support(2, 1000, 10)).funded
    assert progress(opened, Support(3, 1000, 10)).funded
    exact = admit(proposed(cost=3000), NOW + WEEK, NOW)
    assert progress(exact, Support(3, 1000, 10)).funded  # a tie is enough


def test_majority_is_more_than_half_a_tie_is_not_enough() -> None:
    opened = admit(proposed("majority"), NOW + WEEK, NOW)
    assert not progress(opened, Support(5, 1000, 10)).funded
    assert progress(opened, Support(6, 1000, 10)).funded
    assert progress(opened, Support(5, 1000, 9)).funded
    assert not progress(opened, Support(0, 1000, 0)).funded


def test_settling_at_the_deadline_funds_or_not_and_leaves_decided_ones_alone() -> None:
    opened = admit(proposed(cost=2500), NOW + WEEK, NOW)
    assert settle(opened, Support(3, 1000, 10)) == (
        "gefinancierd",
        "de toezeggingen dekken de kosten",
    )
    assert settle(opened, Support(1, 1000, 10)) == (
        "niet-gefinancierd",
        "nog €15,00 nodig van de kosten",
    )
    withdrawn = withdraw(opened)
    assert settle(withdrawn, Support(3, 1000, 10))[0] == "ingetrokken"


def test_a_year_spends_pledges_up_to_the_cost_and_majority_costs_and_the_rest_lapses() -> None:
    closing = close_year(10, 1000, [("pledge", 2500, 3000), ("majority", 4000, 0)])
    assert (closing.total_cents, closing.spent_cents, closing.lapsed_cents) == (10000, 6500, 3500)
    nothing = close_year(4, 1000, [])
    assert (nothing.spent_cents, nothing.lapsed_cents) == (0, 4000)
    overspent = close_year(1, 1000, [("majority", 5000, 0)])
    assert (overspent.spent_cents, overspent.lapsed_cents) == (1000, 0)
