"""Greedy by votes: most-approved first, skipping what does not fit, within the caps."""

from __future__ import annotations

from collections.abc import Mapping

from services.budget.domain.election import (
    CATEGORY,
    Election,
    Leftover,
    Outcome,
    PartialFunding,
    Project,
    Reason,
    outcome,
)

Spent = dict[str, dict[str, int]]


def greedy(election: Election) -> Outcome:
    """Fund projects by approval count; ties go to the smaller project id as text (as pabutools).

    A project that no longer fits the budget, or whose cap (per category, neighbourhood or any
    other capped attribute) is spent, is skipped and the next one is tried. Then the leftover
    rule: `FIT` spends what is left on the skipped projects, again by votes; `PARTIAL` gives what
    is left to the best-voted project not funded. The caps bind that spending only with
    `leftover_within_caps`. A project without a single vote is never funded.
    """
    votes = election.votes()
    # pabutools sorts by name, then stably by score: ties fall to the lexicographically smaller id.
    order = sorted(election.projects, key=lambda p: (-votes[p.project_id], p.project_id))
    caps = election.caps()
    spent: Spent = {a: dict.fromkeys(c, 0) for a, c in caps.items()}
    remaining = election.budget
    chosen: dict[str, Reason] = {}
    lost: dict[str, Reason] = {}
    last: tuple[Project, int, Spent] | None = None
    for project in order:
        if votes[project.project_id] == 0:
            lost[project.project_id] = Reason.GEEN_STEMMEN
        elif project.cost > remaining:
            lost[project.project_id] = Reason.PAST_NIET
        elif _room(caps, spent, project) < project.cost:
            lost[project.project_id] = _capped(caps, spent, project)
        else:
            last = (project, remaining, {a: dict(s) for a, s in spent.items()})
            chosen[project.project_id] = Reason.GEKOZEN
            remaining -= project.cost
            _pay(spent, project, project.cost)
    partial = None
    if election.leftover is Leftover.FIT and not election.leftover_within_caps:
        remaining = _fit(order, chosen, lost, remaining)
    elif election.leftover is Leftover.PARTIAL:
        partial = _partial(election, order, votes, chosen, lost, remaining, spent)
    tie = last is not None and _tied(order, votes, chosen, caps, last)
    return outcome("greedy", election, chosen, lost, partial=partial, tie=tie)


def _fit(
    order: list[Project], chosen: dict[str, Reason], lost: dict[str, Reason], remaining: int
) -> int:
    """The leftover funds the projects the caps stopped, by votes, as far as they fit."""
    for project in order:
        reason = lost.get(project.project_id)
        if reason not in (Reason.CATEGORIE_OP, Reason.DEELBUDGET_OP):
            continue
        if project.cost <= remaining:
            del lost[project.project_id]
            chosen[project.project_id] = Reason.GEKOZEN_RESTBUDGET
            remaining -= project.cost
        elif reason is Reason.CATEGORIE_OP:
            lost[project.project_id] = Reason.CATEGORIE_OP_GEEN_REST
        else:
            lost[project.project_id] = Reason.DEELBUDGET_OP_GEEN_REST
    return remaining


def _partial(
    election: Election,
    order: list[Project],
    votes: Mapping[str, int],
    chosen: dict[str, Reason],
    lost: dict[str, Reason],
    remaining: int,
    spent: Spent,
) -> PartialFunding | None:
    """The best-voted project not funded gets what is left (within its caps, if they bind)."""
    caps = election.caps() if election.leftover_within_caps else {}
    for project in order:
        if project.project_id in chosen or votes[project.project_id] == 0:
            continue
        amount = min(project.cost, remaining, _room(caps, spent, project))
        if amount > 0:
            lost[project.project_id] = Reason.GEDEELTELIJK
            return PartialFunding(project.project_id, amount)
    return None


def _tied(
    order: list[Project],
    votes: Mapping[str, int],
    chosen: Mapping[str, Reason],
    caps: Mapping[str, Mapping[str, int]],
    last: tuple[Project, int, Spent],
) -> bool:
    """Whether a project with the last winner's votes, after it in the tie order, would have
    had its place: it fitted then, and it was not funded after all."""
    winner, remaining, spent = last
    return any(
        votes[p.project_id] == votes[winner.project_id]
        and p.project_id > winner.project_id
        and p.project_id not in chosen
        and p.cost <= min(remaining, _room(caps, spent, p))
        for p in order
    )


def _room(caps: Mapping[str, Mapping[str, int]], spent: Spent, project: Project) -> int:
    """How much more the project's caps allow (the tightest of them); unbounded without caps."""
    rooms = [
        cap[value] - spent[attribute][value]
        for attribute, cap in caps.items()
        for value in project.values_of(attribute)
        if value in cap
    ]
    return min(rooms, default=project.cost)


def _capped(caps: Mapping[str, Mapping[str, int]], spent: Spent, project: Project) -> Reason:
    """Why a cap stopped the project: its category's budget, or another attribute's."""
    category = caps.get(CATEGORY, {})
    full = [v for v in project.categories if v in category and category[v] - spent[CATEGORY][v]
            < project.cost]  # fmt: skip
    return Reason.CATEGORIE_OP if full else Reason.DEELBUDGET_OP


def _pay(spent: Spent, project: Project, amount: int) -> None:
    for attribute, values in spent.items():
        for value in project.values_of(attribute) & values.keys():
            values[value] += amount
