"""Equal shares on numpy floats picks exactly what pabutools' Fractions pick, at larger scale.

The bench runs the 20,000-ballot round beside pabutools; here smaller synthetic rounds (same
generator) and the largest real file keep the module under half a minute.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pabutools.election import Cost_Sat, parse_pabulib
from pabutools.rules import method_of_equal_shares

from bench.synthetic_round import synthetic_round
from services.budget.domain import equal_shares
from services.budget.pabulib import parse_path, to_election
from tests.unit.test_budget_leftover_and_ties import as_pabutools

OUD_OOST = Path("/work/shared/data/pabulib/Netherlands_Amsterdam_212.pb")


def test_the_largest_real_round_under_equal_shares_has_pabutools_winners_in_its_order() -> None:
    instance, profile = parse_pabulib(str(OUD_OOST))
    reference = method_of_equal_shares(
        instance, profile, sat_class=Cost_Sat, voter_budget_increment=1
    )
    ours = equal_shares(to_election(parse_path(OUD_OOST)))
    assert list(ours.selected) == [p.name for p in reference]


@pytest.mark.parametrize(("ballots", "projects", "seed"), [(1500, 30, 1), (400, 60, 2)])
def test_a_synthetic_round_under_equal_shares_has_pabutools_winners_in_its_order(
    ballots: int, projects: int, seed: int
) -> None:
    election = synthetic_round(ballots, projects, seed)
    instance, profile = as_pabutools(election)
    reference = method_of_equal_shares(
        instance, profile, sat_class=Cost_Sat, voter_budget_increment=1
    )
    assert list(equal_shares(election).selected) == [p.name for p in reference]
