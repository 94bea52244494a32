"""Caps on any attribute, both leftover rules with and without the caps, and the tie flag."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

from hypothesis import given, settings
from hypothesis import strategies as st
from pabutools.election import Cost_Sat, Instance
from pabutools.election import Project as PbtProject
from pabutools.election.ballot import ApprovalBallot
from pabutools.election.profile import ApprovalProfile
from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares

from services.budget.domain import (
    Election,
    Leftover,
    PartialFunding,
    Project,
    Reason,
    equal_shares,
    greedy,
)
from tests.unit.test_budget_rules import ballots, reasons


def in_buurt(project_id: str, cost: int, buurt: str) -> Project:
    """A project in one neighbourhood."""
    return Project(project_id, cost, attributes=(("neighborhood", frozenset({buurt})),))


NOORD_CAPPED = Election(
    budget=10,
    # Votes: n1 3, n2 2, z 1. Noord may spend 5: n1 (4) leaves 1, too little for n2 (3).
    projects=(in_buurt("n1", 4, "Noord"), in_buurt("n2", 3, "Noord"), in_buurt("z", 2, "Zuid")),
    ballots=ballots((3, {"n1"}), (2, {"n2"}), (1, {"z"})),
    attribute_caps=MappingProxyType({"neighborhood": MappingProxyType({"Noord": 5})}),
)


def test_a_neighbourhood_cap_stops_a_project_as_a_category_cap_does() -> None:
    outcome = greedy(NOORD_CAPPED)
    assert outcome.selected == ("n1", "z")
    assert reasons(outcome.results)["n2"] == Reason.DEELBUDGET_OP
    assert (outcome.spent, outcome.partial, outcome.tie) == (6, None, False)


def test_fitting_leftover_funds_the_capped_project_unless_the_caps_bind_it() -> None:
    free = greedy(replace(NOORD_CAPPED, leftover=Leftover.FIT))
    assert free.selected == ("n1", "z", "n2")  # 4 left after n1 and z: n2 (3) fits
    assert reasons(free.results)["n2"] == Reason.GEKOZEN_RESTBUDGET
    bound = greedy(replace(NOORD_CAPPED, leftover=Leftover.FIT, leftover_within_caps=True))
    assert bound.selected == ("n1", "z")
    assert reasons(bound.results)["n2"] == Reason.DEELBUDGET_OP


def test_partial_leftover_gives_what_is_left_to_the_best_voted_project_not_funded() -> None:
    election = Election(
        budget=10,
        projects=(Project("a", 6), Project("b", 6), Project("c", 3)),
        ballots=ballots((3, {"a"}), (2, {"b"}), (1, {"c"})),
        leftover=Leftover.PARTIAL,
    )
    outcome = greedy(election)
    # a (6) and c (3) are funded, b does not fit; b gets the 1 left.
    assert outcome.selected == ("a", "c")
    assert outcome.partial == PartialFunding("b", 1)
    assert outcome.spent == 10
    line = {r.project_id: r for r in outcome.results}["b"]
    assert (line.selected, line.funded, line.reason) == (False, 1, Reason.GEDEELTELIJK)


def test_partial_leftover_within_the_caps_gives_only_what_the_cap_has_left() -> None:
    election = replace(
        NOORD_CAPPED,
        projects=(in_buurt("n1", 4, "Noord"), in_buurt("n2", 5, "Noord"), in_buurt("z", 2, "Zuid")),
        leftover=Leftover.PARTIAL,
    )
    # After n1 and z, 4 of the budget is left, but only 1 of Noord's 5.
    assert greedy(election).partial == PartialFunding("n2", 4)
    assert greedy(replace(election, leftover_within_caps=True)).partial == PartialFunding("n2", 1)


def test_the_tie_flag_says_a_tie_decided_the_last_funded_place() -> None:
    tied = Election(
        budget=6,
        projects=(Project("a", 6), Project("b", 6)),
        ballots=ballots((2, {"a", "b"})),
    )
    outcome = greedy(tied)
    assert (outcome.selected, outcome.tie) == (("a",), True)
    # More votes for a: no tie. The tied b too dear to fit even without a: no tie decided it.
    assert not greedy(replace(tied, ballots=ballots((2, {"a", "b"}), (1, {"a"})))).tie
    assert not greedy(replace(tied, projects=(Project("a", 6), Project("b", 7)))).tie


def test_equal_shares_flags_a_tie_of_prices_for_the_last_pick_like_pabutools_orders_it() -> None:
    election = Election(
        budget=6,
        projects=(Project("y", 6), Project("x", 6)),
        ballots=ballots((3, {"x", "y"})),
    )
    outcome = equal_shares(election, increment=None)
    instance, profile = as_pabutools(election)
    reference = method_of_equal_shares(instance, profile, sat_class=Cost_Sat)
    assert outcome.selected == ("x",) == tuple(p.name for p in reference)
    assert outcome.tie
    assert not equal_shares(replace(election, ballots=ballots((3, {"x", "y"}), (1, {"x"})))).tie


def as_pabutools(election: Election) -> tuple[Instance, ApprovalProfile]:
    """The same round as a pabutools instance and profile."""
    projects = {p.project_id: PbtProject(p.project_id, p.cost) for p in election.projects}
    instance = Instance(projects.values(), budget_limit=election.budget)
    profile = ApprovalProfile([ApprovalBallot(projects[i] for i in b) for b in election.ballots])
    return instance, profile


@st.composite
def capped_rounds(draw: st.DrawFn) -> Election:
    """Up to 7 projects in two neighbourhoods whose caps add up to the budget."""
    ids = draw(st.lists(st.sampled_from("abcdefg"), min_size=1, max_size=7, unique=True))
    projects = tuple(in_buurt(i, draw(st.integers(1, 6)), draw(st.sampled_from("NZ")))
                     for i in ids)  # fmt: skip
    caps = {"N": draw(st.integers(0, 10)), "Z": draw(st.integers(0, 10))}
    return Election(
        budget=caps["N"] + caps["Z"],
        projects=projects,
        ballots=tuple(draw(st.lists(st.frozensets(st.sampled_from(ids), min_size=1),
                                    max_size=10))),
        attribute_caps=MappingProxyType({"neighborhood": MappingProxyType(caps)}),
        leftover=Leftover.FIT,
    )  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(capped_rounds())
def test_neighbourhood_caps_with_free_leftover_give_the_winners_pabutools_composes(
    election: Election,
) -> None:
    """As pabutools runs Amsterdam: greedy per neighbourhood within its cap, then greedy over
    all projects on what is left (the caps add up to the budget, so each runs on its own)."""
    supported = {i for b in election.ballots for i in b}
    # pabutools' greedy also funds unvoted projects that fit, ours never does: leave them out.
    instance, profile = as_pabutools(
        replace(election, projects=tuple(p for p in election.projects if p.project_id in supported))
    )
    projects = {p.project_id: p for p in election.projects}
    chosen: list[PbtProject] = []
    for buurt, cap in election.caps()["neighborhood"].items():
        inside = [p for p in instance
                  if buurt in projects[p.name].values_of("neighborhood")]  # fmt: skip
        chosen += greedy_utilitarian_welfare(Instance(inside, budget_limit=cap), profile,
                                             sat_class=Cost_Sat)  # fmt: skip
    chosen = greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat,
                                        initial_budget_allocation=chosen)  # fmt: skip
    assert set(greedy(election).selected) == {p.name for p in chosen}
