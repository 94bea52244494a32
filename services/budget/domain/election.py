"""A participatory-budgeting round as plain values, and the outcome a rule gives it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class UnknownRuleError(ValueError):
    """No funding rule by that name."""


class UnsupportedRuleError(ValueError):
    """The round asks for a combination of rules this service does not implement (named)."""


class Leftover(StrEnum):
    """What happens to budget the rule leaves unspent (pabulib's META `leftover_budget`)."""

    NONE = ""
    FIT = "Fund additional projects that fit within leftover budget ordered by score"
    PARTIAL = "Partially fund one additional project with highest score"


class Reason(StrEnum):
    """Why a project won or lost, in the words the dashboard shows residents (Dutch)."""

    GEKOZEN = "gekozen"
    GEKOZEN_RESTBUDGET = "gekozen uit het restbudget"
    GEDEELTELIJK = "gedeeltelijk gefinancierd uit het restbudget"
    PAST_NIET = "past niet meer in het budget"
    CATEGORIE_OP = "categoriebudget op"
    CATEGORIE_OP_GEEN_REST = "categoriebudget op, en past niet in het restbudget"
    DEELBUDGET_OP = "deelbudget op (buurt of ander kenmerk)"
    DEELBUDGET_OP_GEEN_REST = "deelbudget op, en past niet in het restbudget"
    TE_WEINIG_STEUN = "te weinig steun: de aandelen van de stemmers dekken de kosten niet"
    GEEN_STEMMEN = "geen stemmen"


CATEGORY = "category"


@dataclass(frozen=True)
class Project:
    """A project on the ballot: its id, cost (whole currency units), categories and other
    attributes a round may cap (e.g. `neighborhood`), each a set of values."""

    project_id: str
    cost: int
    categories: frozenset[str] = frozenset()
    # (attribute, values) pairs, so the project stays hashable.
    attributes: tuple[tuple[str, frozenset[str]], ...] = ()

    def values_of(self, attribute: str) -> frozenset[str]:
        """The project's values of an attribute (`category` is its categories)."""
        if attribute == CATEGORY:
            return self.categories
        return next((v for a, v in self.attributes if a == attribute), frozenset())


@dataclass(frozen=True)
class Election:
    """A round: the budget, the projects and one approval ballot (set of project ids) per voter."""

    budget: int
    projects: tuple[Project, ...]
    ballots: tuple[frozenset[str], ...]
    category_caps: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    leftover: Leftover = Leftover.NONE
    # Whether the caps also bind what the leftover rule funds (the file's comment says so).
    leftover_within_caps: bool = False
    # Caps on other project attributes, by attribute then value (e.g. neighborhood -> Noord).
    attribute_caps: Mapping[str, Mapping[str, int]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def caps(self) -> dict[str, Mapping[str, int]]:
        """Every cap, by attribute (`category` included) then value."""
        every = {a: c for a, c in self.attribute_caps.items() if c}
        if self.category_caps:
            every[CATEGORY] = self.category_caps
        return every

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
    # What the project gets: its cost if selected, part of it if partially funded, else 0.
    funded: int = 0


@dataclass(frozen=True)
class PartialFunding:
    """The one project funded in part from the leftover budget, and the amount it gets."""

    project_id: str
    amount: int


@dataclass(frozen=True)
class Outcome:
    """The winners in the order the rule chose them, and a result line per project."""

    rule: str
    selected: tuple[str, ...]
    results: tuple[ProjectResult, ...]
    partial: PartialFunding | None = None
    # The last funded place went to a project tied (same score) with one that lost it by the
    # tie order: the smaller project id as text, as pabutools' default lexicographic order.
    tie: bool = False

    @property
    def spent(self) -> int:
        """What the winners cost together, plus a partially funded project's amount."""
        return sum(r.cost for r in self.results if r.selected) + (
            self.partial.amount if self.partial else 0
        )


def outcome(
    rule: str,
    election: Election,
    chosen: dict[str, Reason],
    lost: dict[str, Reason],
    *,
    partial: PartialFunding | None = None,
    tie: bool = False,
) -> Outcome:
    """Assemble an outcome: chosen in selection order, results sorted by votes then project id."""
    votes = election.votes()

    def funded(p: Project) -> int:
        if p.project_id in chosen:
            return p.cost
        return partial.amount if partial and partial.project_id == p.project_id else 0

    results = tuple(
        ProjectResult(
            project_id=p.project_id,
            cost=p.cost,
            votes=votes[p.project_id],
            selected=p.project_id in chosen,
            reason=chosen.get(p.project_id) or lost[p.project_id],
            funded=funded(p),
        )
        for p in sorted(election.projects, key=lambda p: (-votes[p.project_id], p.project_id))
    )
    return Outcome(rule=rule, selected=tuple(chosen), results=results, partial=partial, tie=tie)
