"""A participatory-budgeting round as plain values, and the outcome a rule gives it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class UnknownRuleError(ValueError):
    """No funding rule by that name."""


class Reason(StrEnum):
    """Why a project won or lost, in the words the dashboard shows residents (Dutch)."""

    GEKOZEN = "gekozen"
    GEKOZEN_RESTBUDGET = "gekozen uit het restbudget"
    PAST_NIET = "past niet meer in het budget"
    CATEGORIE_OP = "categoriebudget op"
    CATEGORIE_OP_GEEN_REST = "categoriebudget op, en past niet in het restbudget"
    TE_WEINIG_STEUN = "te weinig steun: de aandelen van de stemmers dekken de kosten niet"
    GEEN_STEMMEN = "geen stemmen"


@dataclass(frozen=True)
class Project:
    """A project on the ballot: its id, cost (whole currency units) and categories."""

    project_id: str
    cost: int
    categories: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Election:
    """A round: the budget, the projects and one approval ballot (set of project ids) per voter."""

    budget: int
    projects: tuple[Project, ...]
    ballots: tuple[frozenset[str], ...]
    category_caps: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    fill_leftover: bool = False

    def votes(self) -> dict[str, int]:
        """Per project id, how many ballots approve it."""
        counts = {p.project_id: 0 for p in self.projects}
        for ballot in self.ballots:
            for project_id in ballot:
                if project_id in counts:
                    counts[project_id] += 1
        return counts


@dataclass(frozen=True)
class ProjectResult:
    """One project's line in the result: its votes, whether it won, and why."""

    project_id: str
    cost: int
    votes: int
    selected: bool
    reason: Reason


@dataclass(frozen=True)
class Outcome:
    """The winners in the order the rule chose them, and a result line per project."""

    rule: str
    selected: tuple[str, ...]
    results: tuple[ProjectResult, ...]

    @property
    def spent(self) -> int:
        """What the winners cost together."""
        return sum(r.cost for r in self.results if r.selected)


def outcome(
    rule: str, election: Election, chosen: dict[str, Reason], lost: dict[str, Reason]
) -> Outcome:
    """Assemble an outcome: chosen in selection order, results sorted by votes then project id."""
    votes = election.votes()
    results = tuple(
        ProjectResult(
            project_id=p.project_id,
            cost=p.cost,
            votes=votes[p.project_id],
            selected=p.project_id in chosen,
            reason=chosen.get(p.project_id) or lost[p.project_id],
        )
        for p in sorted(election.projects, key=lambda p: (-votes[p.project_id], p.project_id))
    )
    return Outcome(rule=rule, selected=tuple(chosen), results=results)
