"""The Method of Equal Shares for approval ballots (cost utilities), with "add1" completion."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from services.budget.domain.election import Election, Outcome, Project, Reason, outcome
from services.budget.domain.shares import Indices, run


def equal_shares(election: Election, increment: int | None = 1) -> Outcome:
    """Fund projects by the Method of Equal Shares, exactly as pabutools computes it.

    Every voter gets an equal share of the budget; a project is bought by its supporters, and the
    one whose supporters each pay the least per unit of its cost goes first (ties: the smaller
    project id as text, pabutools' default lexicographic order). With `increment`, the per-voter
    share is raised by that many units of currency and the round re-run until the selection
    spends every unit it can or would exceed the budget (then the last selection within budget
    stands): "add1" completion. The outcome's `tie` says the last pick won a tie of prices.
    """
    if increment is not None and increment <= 0:
        raise ValueError("the increment must be positive, or None for no completion")
    n = len(election.ballots)
    supporters = _supporters(election)
    free = [p for p in election.projects if p.cost == 0 and len(supporters[p.project_id])]
    candidates = [p for p in election.projects if p.cost > 0 and len(supporters[p.project_id])]
    previous: tuple[list[Project], bool] = (list(free), False)
    if n == 0:
        return _outcome(election, *previous, increment)
    share = Fraction(election.budget, n)
    while True:
        result = run(candidates, supporters, n, share)
        current = free + result.chosen
        if sum(p.cost for p in current) > election.budget:
            return _outcome(election, *previous, increment)
        if increment is None or _exhaustive(election.budget, current, candidates):
            return _outcome(election, current, result.tie, increment)
        share += increment
        previous = (current, result.tie)


def _supporters(election: Election) -> dict[str, Indices]:
    lists: dict[str, list[int]] = {p.project_id: [] for p in election.projects}
    for i, ballot in enumerate(election.ballots):
        for project_id in ballot:
            if project_id in lists:
                lists[project_id].append(i)
    return {k: np.array(v, dtype=np.intp) for k, v in lists.items()}


def _exhaustive(budget: int, chosen: list[Project], candidates: list[Project]) -> bool:
    left = budget - sum(p.cost for p in chosen)
    return all(p in chosen or p.cost > left for p in candidates)


def _outcome(
    election: Election, chosen: list[Project], tie: bool, increment: int | None
) -> Outcome:
    left = election.budget - sum(p.cost for p in chosen)
    picked = {p.project_id: Reason.GEKOZEN for p in chosen}
    votes = election.votes()
    lost = {
        p.project_id: Reason.GEEN_STEMMEN
        if votes[p.project_id] == 0
        else Reason.PAST_NIET
        if p.cost > left
        else Reason.TE_WEINIG_STEUN
        for p in election.projects
        if p.project_id not in picked
    }
    rule = "equalshares" if increment is None else f"equalshares/add{increment}"
    return outcome(rule, election, picked, lost, tie=tie)
