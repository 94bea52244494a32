"""Reading pabulib `.pb` files: sections, quoted fields, META limits, categories and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.budget import pabulib_meta
from services.budget.domain import Leftover
from services.budget.pabulib import PabulibError, parse_path, parse_text, to_election

PABULIB = Path("/work/shared/data/pabulib")

SMALL = """META
key;value
description;Buurtbudget Testbuurt
budget;1000
vote_type;approval
rule;greedy
min_length;1
max_length;2
max_sum_cost;900
categories;Groen,Jeugd
budget_per_category;600,400
leftover_budget;Fund additional projects that fit within leftover budget ordered by score
comment;#1: The budget_per_category is an upper bound on the sum cost of projects within a \
category selected by the voting rule.
PROJECTS
project_id;cost;votes;name;category
1;500;2;"Bankje; met ""rugleuning""\";Groen
2;400;1;Voetbalkooi;Jeugd
VOTES
voter_id;vote
v1;1,2
v2;1
v3;
"""


def test_a_small_file_gives_its_meta_limits_projects_and_ballots() -> None:
    pb = parse_text(SMALL)
    assert (pb.budget, pb.vote_type, pb.rule) == (1000, "approval", "greedy")
    bounds = pabulib_meta.ballot_rules(pb.meta)
    assert (bounds.min_length, bounds.max_length, bounds.max_sum_cost) == (1, 2, 900)
    assert pabulib_meta.caps_of(pb.meta) == {"category": {"Groen": 600, "Jeugd": 400}}
    assert pb.projects[0].name == 'Bankje; met "rugleuning"'
    assert pb.projects[0].categories == ("Groen",)
    assert [v.approved for v in pb.votes] == [("1", "2"), ("1",), ()]

    election = to_election(pb)
    assert election.votes() == {"1": 2, "2": 1}
    assert election.leftover is Leftover.FIT
    assert not election.leftover_within_caps
    assert election.ballots[2] == frozenset()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (SMALL.replace("budget;1000\n", ""), "no budget"),
        (SMALL.replace("v2;1\n", "v2;7\n"), "unknown projects"),
        (SMALL.replace("v2;1\n", "v1;1\n"), "voter id occurs twice"),
        (SMALL.replace("2;400;1;", "2;4x0;1;"), "not a whole number"),
        (SMALL.replace("vote_type;approval", "vote_type;ordinal"), "not an approval ballot"),
        ("1;2\n" + SMALL, "before any section"),
    ],
)
def test_a_broken_file_is_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(PabulibError, match=message):
        parse_text(text)


def test_every_real_file_parses_with_the_counts_its_meta_announces() -> None:
    files = sorted(PABULIB.glob("*.pb"))
    assert len(files) == 9
    for path in files:
        pb = parse_path(path)
        assert len(pb.projects) == int(pb.meta["num_projects"]), path.name
        assert len(pb.votes) == int(pb.meta["num_votes"]), path.name
        votes = to_election(pb).votes()
        assert all(votes[p.project_id] == int(p.fields["votes"]) for p in pb.projects), path.name
