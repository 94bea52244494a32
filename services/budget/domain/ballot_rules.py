"""What a ballot and the projects on it must satisfy (pabulib's ballot and project constraints)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from services.budget.domain.election import Project


@dataclass(frozen=True)
class BallotRules:
    """Bounds a round sets on each ballot and on its projects; None is no bound."""

    min_length: int | None = None
    max_length: int | None = None
    min_sum_cost: int | None = None
    max_sum_cost: int | None = None
    max_length_per_category: int | None = None
    max_sum_cost_per_category: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType({})
    )
    min_project_cost: int | None = None
    max_project_cost: int | None = None


@dataclass(frozen=True)
class Breach:
    """A bound a ballot or project breaks: the pabulib key and what is wrong (Dutch)."""

    rule: str
    message: str


def ballot_breaches(
    rules: BallotRules, projects: Mapping[str, Project], ballot: Collection[str]
) -> list[Breach]:
    """Every bound this ballot (a set of known project ids) breaks."""
    chosen = [projects[p] for p in ballot]
    total = sum(p.cost for p in chosen)
    found = []
    if rules.min_length is not None and len(chosen) < rules.min_length:
        found.append(Breach("min_length", f"Kies minstens {rules.min_length} project(en)."))
    if rules.max_length is not None and len(chosen) > rules.max_length:
        found.append(Breach("max_length", f"Kies hoogstens {rules.max_length} project(en)."))
    if rules.min_sum_cost is not None and total < rules.min_sum_cost:
        found.append(Breach("min_sum_cost", f"Kies samen minstens {rules.min_sum_cost} aan "
                            f"projecten (nu {total})."))  # fmt: skip
    if rules.max_sum_cost is not None and total > rules.max_sum_cost:
        found.append(Breach("max_sum_cost", f"Uw keuze kost samen {total}, meer dan het "
                            f"budget van {rules.max_sum_cost}."))  # fmt: skip
    for category in sorted({c for p in chosen for c in p.categories}):
        inside = [p for p in chosen if category in p.categories]
        most = rules.max_length_per_category
        if most is not None and len(inside) > most:
            found.append(Breach("max_length_per_category",
                                f"Kies hoogstens {most} project(en) in {category}."))  # fmt: skip
        cap = rules.max_sum_cost_per_category.get(category)
        if cap is not None and sum(p.cost for p in inside) > cap:
            found.append(Breach("max_sum_cost_per_category",
                                f"Uw keuze in {category} kost meer dan {cap}."))  # fmt: skip
    found += [b for p in chosen for b in project_breaches(rules, p)]
    return found


def project_breaches(rules: BallotRules, project: Project) -> list[Breach]:
    """Every bound on a project's cost this project breaks."""
    found = []
    if rules.min_project_cost is not None and project.cost < rules.min_project_cost:
        found.append(Breach("min_project_cost", f"Project {project.project_id} kost "
                            f"{project.cost}, minder dan {rules.min_project_cost}."))  # fmt: skip
    if rules.max_project_cost is not None and project.cost > rules.max_project_cost:
        found.append(Breach("max_project_cost", f"Project {project.project_id} kost "
                            f"{project.cost}, meer dan {rules.max_project_cost}."))  # fmt: skip
    return found
