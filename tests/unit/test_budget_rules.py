"""Every funding rule on small hand-made rounds: ties, caps, leftovers, projects that do not fit."""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType

import pytest

from services.budget.domain import (
    Election,
    Leftover,
    Project,
    ProjectResult,
    Reason,
    UnknownRuleError,
    decide,
    equal_shares,
    greedy,
)


def ballots(*groups: tuple[int, set[str]]) -> tuple[frozenset[str], ...]:
    """`count` identical ballots per group."""
    return tuple(frozenset(approved) for count, approved in groups for _ in range(count))


def reasons(results: Iterable[ProjectResult]) -> dict[str, Reason]:
    """Each project's reason."""
    return {r.project_id: r.reason for r in results}


def test_greedy_funds_the_most_voted_first_and_skips_a_project_that_does_not_fit() -> None:
    election = Election(
        budget=10,
        projects=(Project("a", 6), Project("b", 6), Project("c", 4)),
        ballots=ballots((3, {"a"}), (2, {"b"}), (1, {"c"})),
    )
    outcome = greedy(election)
    assert outcome.selected == ("a", "c")
    assert reasons(outcome.results) == {
        "a": Reason.GEKOZEN,
        "b": Reason.PAST_NIET,
        "c": Reason.GEKOZEN,
    }
    assert [(r.project_id, r.votes) for r in outcome.results] == [("a", 3), ("b", 2), ("c", 1)]


def test_greedy_breaks_a_tie_by_the_smaller_project_id_as_text_like_pabutools() -> None:
    election = Election(
        budget=10,
        projects=(Project("9", 6), Project("10", 6)),
        ballots=ballots((2, {"9", "10"})),
    )
    # "10" < "9" as text, which is how pabutools orders project names.
    assert greedy(election).selected == ("10",)


def test_greedy_respects_category_caps_and_fills_the_leftover_only_when_asked() -> None:
    projects = (
        Project("g1", 4, frozenset({"groen"})),
        Project("g2", 3, frozenset({"groen"})),
        Project("s", 3, frozenset({"sport"})),
    )
    capped = Election(
        budget=10,
        projects=projects,
        ballots=ballots((3, {"g1"}), (2, {"g2"}), (1, {"s"})),
        category_caps=MappingProxyType({"groen": 5}),
    )
    outcome = greedy(capped)
    assert outcome.selected == ("g1", "s")
    assert reasons(outcome.results)["g2"] == Reason.CATEGORIE_OP

    filled = greedy(Election(**{**capped.__dict__, "leftover": Leftover.FIT}))
    assert filled.selected == ("g1", "s", "g2")
    assert reasons(filled.results)["g2"] == Reason.GEKOZEN_RESTBUDGET
    assert filled.spent == 10

    tight = greedy(Election(**{**capped.__dict__, "budget": 8, "leftover": Leftover.FIT}))
    assert tight.selected == ("g1", "s")
    assert reasons(tight.results)["g2"] == Reason.CATEGORIE_OP_GEEN_REST


def test_greedy_never_funds_a_project_without_votes() -> None:
    election = Election(
        budget=10, projects=(Project("a", 2), Project("b", 2)), ballots=ballots((1, {"a"}))
    )
    outcome = greedy(election)
    assert outcome.selected == ("a",)
    assert reasons(outcome.results)["b"] == Reason.GEEN_STEMMEN


def minority_round() -> Election:
    """Ten voters, budget 10: six like a1 (and three of them a2), four like b."""
    return Election(
        budget=10,
        projects=(Project("a1", 5), Project("a2", 5), Project("b", 5)),
        ballots=ballots((3, {"a1", "a2"}), (3, {"a1"}), (4, {"b"})),
    )


def test_equal_shares_without_completion_leaves_money_the_minority_cannot_reach() -> None:
    outcome = equal_shares(minority_round(), increment=None)
    assert outcome.selected == ("a1",)
    assert outcome.rule == "equalshares"
    assert reasons(outcome.results)["b"] == Reason.TE_WEINIG_STEUN


def test_equal_shares_add1_raises_the_shares_until_the_minority_gets_its_project() -> None:
    outcome = equal_shares(minority_round())
    assert outcome.selected == ("a1", "b")
    assert outcome.rule == "equalshares/add1"
    assert reasons(outcome.results) == {
        "a1": Reason.GEKOZEN,
        "b": Reason.GEKOZEN,
        "a2": Reason.PAST_NIET,
    }


def majority_round() -> Election:
    """Ten voters, budget 10: six like a1 and a2, four like b."""
    return Election(
        budget=10,
        projects=(Project("a1", 5), Project("a2", 5), Project("b", 5)),
        ballots=ballots((6, {"a1", "a2"}), (4, {"b"})),
    )


def test_equal_shares_add1_keeps_the_last_selection_within_budget() -> None:
    # With shares of 2 each, b, a1 and a2 all become affordable (15 > 10): add1 stops at {a1}.
    assert equal_shares(majority_round()).selected == ("a1",)


def test_equal_shares_never_funds_a_project_dearer_than_the_budget() -> None:
    election = Election(
        budget=10,
        projects=(Project("groot", 11), Project("klein", 4)),
        ballots=ballots((8, {"groot"}), (2, {"groot", "klein"})),
    )
    plain = equal_shares(election, increment=None)
    assert plain.selected == ()
    assert reasons(plain.results) == {"groot": Reason.PAST_NIET, "klein": Reason.TE_WEINIG_STEUN}
    # Shares of 2 make "groot" affordable first, which overspends: add1 keeps the last
    # selection within budget, the empty one (pabutools does the same).
    assert equal_shares(election).selected == ()


def test_equal_shares_breaks_a_tie_by_the_smaller_project_id_as_text() -> None:
    election = Election(
        budget=10, projects=(Project("9", 10), Project("10", 10)), ballots=ballots((2, {"9", "10"}))
    )
    assert equal_shares(election).selected == ("10",)


def test_equal_shares_of_a_round_without_ballots_funds_nothing() -> None:
    election = Election(budget=10, projects=(Project("a", 1),), ballots=())
    assert equal_shares(election).selected == ()


def test_decide_picks_the_rule_by_its_pabulib_name_and_refuses_unknown_rules() -> None:
    assert decide(majority_round(), "greedy").selected == ("a1", "a2")
    assert decide(majority_round(), "equalshares/add1").selected == ("a1",)
    with pytest.raises(UnknownRuleError):
        decide(minority_round(), "loting")
