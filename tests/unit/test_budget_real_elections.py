"""Real pabulib elections, decided with the rule their META names, against pabutools and Assen.

pabutools is the reference library and a test-only dependency; it is imported only here.
The whole module takes about 8-12 s, most of it equal shares on Assen (ours and pabutools).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pabutools.election import Cost_Sat, Instance, parse_pabulib
from pabutools.election import Project as PbtProject
from pabutools.election.ballot import ApprovalBallot
from pabutools.election.profile import ApprovalProfile
from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares

from services.budget.domain import Election, Project, decide, equal_shares, greedy
from services.budget.pabulib import parse_path, to_election

PABULIB = Path("/work/shared/data/pabulib")
FILES = sorted(PABULIB.glob("*.pb"), key=lambda p: p.name)


def pabutools_greedy(instance: Instance, profile: ApprovalProfile) -> set[str]:
    """Greedy by approvals; with budget_per_category, per category first, then the leftover."""
    caps = instance.meta.get("budget_per_category")
    if not caps:
        return {p.name for p in greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat)}
    names = [c.strip() for c in instance.meta["categories"].split(",")]
    chosen = []
    for name, cap in zip(names, caps.split(","), strict=True):
        # The caps add up to the budget in these files, so each category can be run on its own.
        sub = Instance([p for p in instance if name in p.categories], budget_limit=int(cap))
        chosen += greedy_utilitarian_welfare(sub, profile, sat_class=Cost_Sat)
    if instance.meta.get("leftover_budget"):
        chosen = greedy_utilitarian_welfare(
            instance, profile, sat_class=Cost_Sat, initial_budget_allocation=chosen
        )
    return {p.name for p in chosen}


def pabutools_equal_shares_add1(instance: Instance, profile: ApprovalProfile) -> set[str]:
    """MES with cost utilities, the per-voter budget raised by 1 until it would overspend."""
    outcome = method_of_equal_shares(
        instance, profile, sat_class=Cost_Sat, voter_budget_increment=1
    )
    return {p.name for p in outcome}


REFERENCE = {"greedy": pabutools_greedy, "equalshares/add1": pabutools_equal_shares_add1}


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_real_election_has_the_winners_pabutools_gives_it(path: Path) -> None:
    pb = parse_path(path)
    instance, profile = parse_pabulib(str(path))
    ours = decide(to_election(pb), pb.rule)
    assert set(ours.selected) == REFERENCE[pb.rule](instance, profile)
    assert ours.spent <= pb.budget


def test_assen_2024_has_the_winners_the_municipality_announced() -> None:
    pb = parse_path(PABULIB / "Netherlands_Assen_2024.pb")
    official = {p.project_id for p in pb.projects if p.fields["selected"] == "1"}
    assert pb.rule == "equalshares/add1"
    assert set(decide(to_election(pb), pb.rule).selected) == official


def test_the_amsterdam_category_caps_change_the_winners() -> None:
    pb = parse_path(PABULIB / "Netherlands_Amsterdam_166.pb")
    election = to_election(pb)
    plain = Election(budget=election.budget, projects=election.projects, ballots=election.ballots)
    assert set(greedy(election).selected) != set(greedy(plain).selected)


@st.composite
def small_elections(draw: st.DrawFn) -> Election:
    """Up to 6 projects costing 0 to 6 and up to 12 approval ballots: many ties."""
    ids = draw(st.lists(st.sampled_from(["1", "2", "9", "10", "11", "a"]), min_size=1, unique=True))
    projects = tuple(Project(i, draw(st.integers(0, 6))) for i in ids)
    ballots = draw(st.lists(st.frozensets(st.sampled_from(ids)), max_size=12))
    return Election(budget=draw(st.integers(1, 15)), projects=projects, ballots=tuple(ballots))


def as_pabutools(election: Election) -> tuple[Instance, ApprovalProfile]:
    projects = {p.project_id: PbtProject(p.project_id, p.cost) for p in election.projects}
    instance = Instance(projects.values(), budget_limit=election.budget)
    profile = ApprovalProfile([ApprovalBallot(projects[i] for i in b) for b in election.ballots])
    return instance, profile


@settings(max_examples=300, deadline=None)
@given(small_elections())
def test_small_random_rounds_have_the_winners_pabutools_gives_them(election: Election) -> None:
    instance, profile = as_pabutools(election)
    supported = {i for b in election.ballots for i in b}
    # pabutools' greedy also funds unvoted projects that fit; ours never does.
    reference_greedy = {
        p.name for p in greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat)
    }
    assert set(greedy(election).selected) == reference_greedy & supported
    # With cost utilities pabutools' MES never funds a free project (it brings no utility);
    # ours funds a free project somebody voted for.
    free = {p.project_id for p in election.projects if p.cost == 0} & supported
    ours = set(equal_shares(election).selected)
    assert free <= ours
    assert ours - free == pabutools_equal_shares_add1(instance, profile)
    plain = method_of_equal_shares(instance, profile, sat_class=Cost_Sat)
    assert set(equal_shares(election, increment=None).selected) - free == {p.name for p in plain}
