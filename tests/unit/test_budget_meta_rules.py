"""Every META rule a pabulib file declares is read and applied, or refused by its name."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.budget import pabulib_meta
from services.budget.domain import Leftover, Project
from services.budget.domain.ballot_rules import BallotRules, ballot_breaches
from services.budget.pabulib import PabulibError, breaches, parse_path, parse_text, to_election

PABULIB = Path("/work/shared/data/pabulib")
AMSTERDAM_CAPS = (
    "#1: The leftover_budget entry indicates how leftover budget is spent. #2: The {key} is an "
    "upper bound on the sum cost of projects within a {what} selected by the voting rule."
)


def pb_text(*meta: str, projects: str = "", votes: str = "v1;1,2\nv2;1\n") -> str:
    """A small file: budget 1000, greedy approval, two projects in two neighbourhoods."""
    return (
        "META\nkey;value\nbudget;1000\nvote_type;approval\nrule;greedy\n"
        + "".join(f"{line}\n" for line in meta)
        + "PROJECTS\n"
        + (projects or "project_id;cost;neighborhood\n1;500;Noord\n2;400;Zuid\n")
        + "VOTES\nvoter_id;vote\n"
        + votes
    )


@pytest.mark.parametrize("key", sorted(pabulib_meta.REFUSED))
def test_a_rule_we_do_not_implement_is_refused_by_its_name(key: str) -> None:
    with pytest.raises(PabulibError, match=f"META {key} .* is not implemented"):
        to_election(parse_text(pb_text(f"{key};1")))


def test_an_unknown_meta_key_is_refused_by_its_name() -> None:
    with pytest.raises(PabulibError, match="META budget_cap_per_street_light"):
        to_election(parse_text(pb_text("budget_cap_per_street_light;5")))


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        (("rule;unknown",), "META rule 'unknown' is not implemented"),
        (("leftover_budget;Give it back",), "leftover_budget 'Give it back' is not implemented"),
        (("num_votes;3",), "num_votes is 3, the file has 2"),
        (("neighborhoods;Noord", "budget_per_neighborhood;600,400"), "2 budgets for 1 names"),
        (("rule;equalshares/add1", "neighborhoods;Noord,Zuid", "budget_per_neighborhood;1,2"),
         "rule equalshares/add1 with budget_per_"),
        (("districts;Oost", "budget_per_district;100"), "needs a district column"),
    ],
)  # fmt: skip
def test_a_rule_we_cannot_apply_as_written_is_refused(meta: tuple[str, ...], message: str) -> None:
    rule = next((m for m in meta if m.startswith("rule;")), "rule;greedy")
    text = pb_text(*(m for m in meta if m != rule)).replace("rule;greedy", rule)
    with pytest.raises(PabulibError, match=message):
        to_election(parse_text(text))


def test_budget_per_neighborhood_caps_projects_by_their_neighborhood_column() -> None:
    election = to_election(parse_text(pb_text("neighborhoods;Noord,Zuid",
                                              "budget_per_neighborhood;600,300")))  # fmt: skip
    assert election.caps() == {"neighborhood": {"Noord": 600, "Zuid": 300}}
    assert [p.values_of("neighborhood") for p in election.projects] == [{"Noord"}, {"Zuid"}]


CAPPED = ("neighborhoods;Noord,Zuid", "budget_per_neighborhood;600,300")


@pytest.mark.parametrize(
    ("comment", "within"),
    [
        (AMSTERDAM_CAPS.format(key="budget_per_neighborhood", what="neighborhood"), False),
        ("#1: The budget_per_neighborhood also bounds funding from the leftover budget.", True),
        ("#1: Leftover funding is not bound by the budget_per_neighborhood.", False),
    ],
)
def test_the_comment_says_whether_leftover_funding_is_bound_by_the_caps(
    comment: str, within: bool
) -> None:
    text = pb_text(*CAPPED, f"leftover_budget;{Leftover.FIT.value}", f"comment;{comment}")
    assert to_election(parse_text(text)).leftover_within_caps is within


def test_a_comment_silent_on_leftover_and_caps_is_refused_unless_the_importer_says() -> None:
    text = pb_text(*CAPPED, f"leftover_budget;{Leftover.PARTIAL.value}", "comment;#1: Hallo.")
    with pytest.raises(PabulibError, match="whether leftover funding is bound by budget_per_n"):
        to_election(parse_text(text))
    assert to_election(parse_text(text), leftover_within_caps=True).leftover_within_caps


def test_the_amsterdam_files_leave_leftover_funding_free_of_the_category_caps() -> None:
    for name in ("Netherlands_Amsterdam_166.pb", "Netherlands_Amsterdam_179.pb"):
        election = to_election(parse_path(PABULIB / name))
        assert election.category_caps and election.leftover is Leftover.FIT
        assert not election.leftover_within_caps


PROJECTS = {
    "a": Project("a", 600, frozenset({"groen"})),
    "b": Project("b", 300, frozenset({"groen"})),
    "c": Project("c", 200, frozenset({"sport"})),
}


@pytest.mark.parametrize(
    ("bounds", "ballot", "broken"),
    [
        (BallotRules(min_length=2), {"a"}, ["min_length"]),
        (BallotRules(max_length=2), {"a", "b", "c"}, ["max_length"]),
        (BallotRules(max_sum_cost=1000), {"a", "b", "c"}, ["max_sum_cost"]),  # 1100
        (BallotRules(min_sum_cost=900), {"b", "c"}, ["min_sum_cost"]),  # 500
        (BallotRules(max_length_per_category=1), {"a", "b", "c"}, ["max_length_per_category"]),
        (BallotRules(max_length_per_category=1), {"a", "c"}, []),
        (BallotRules(max_sum_cost_per_category={"groen": 800}), {"a", "b"},
         ["max_sum_cost_per_category"]),  # 900 in groen
        (BallotRules(max_sum_cost_per_category={"groen": 900}), {"a", "b"}, []),
        (BallotRules(min_project_cost=250), {"b", "c"}, ["min_project_cost"]),  # c costs 200
        (BallotRules(max_project_cost=500), {"a"}, ["max_project_cost"]),
    ],
)  # fmt: skip
def test_a_ballot_breaking_a_bound_is_told_which(
    bounds: BallotRules, ballot: set[str], broken: list[str]
) -> None:
    assert [b.rule for b in ballot_breaches(bounds, PROJECTS, ballot)] == broken


def test_max_sum_cost_per_category_follows_the_meta_category_order() -> None:
    meta = {"categories": "Groen,Jeugd", "max_sum_cost_per_category": "600,400"}
    assert dict(pabulib_meta.ballot_rules(meta).max_sum_cost_per_category) == {
        "Groen": 600, "Jeugd": 400,
    }  # fmt: skip


def test_oud_oost_breaks_its_own_bounds_and_the_import_check_finds_each_breach() -> None:
    pb = parse_path(PABULIB / "Netherlands_Amsterdam_212.pb")
    floor, most = int(pb.meta["min_project_cost"]), int(pb.meta["max_length_per_category"])
    category = {p.project_id: p.categories for p in pb.projects}
    crowded = [
        v.voter_id for v in pb.votes
        if any(sum(c in category[p] for p in v.approved) > most
               for c in {c for p in v.approved for c in category[p]})
    ]  # fmt: skip
    found = breaches(pb)
    assert found["min_project_cost"] == [p.project_id for p in pb.projects if p.cost < floor]
    assert found["max_length_per_category"] == crowded
    assert set(found) == {"min_project_cost", "max_length_per_category"}


def test_the_other_real_files_keep_their_own_bounds() -> None:
    for path in sorted(PABULIB.glob("*.pb")):
        if path.stem != "Netherlands_Amsterdam_212":
            assert breaches(parse_path(path)) == {}, path.name
