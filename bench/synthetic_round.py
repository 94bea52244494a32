"""A synthetic city-scale approval round, the same for the same seed (for the bench and tests)."""

from __future__ import annotations

import numpy as np

from services.budget.domain import Election, Project


def synthetic_round(ballots: int, projects: int, seed: int = 13) -> Election:
    """`ballots` approval ballots over `projects` projects; a few projects are far more popular
    (Zipf-like), ballots hold 1-15 projects, costs 5,000-100,000, the budget a quarter of all."""
    rng = np.random.default_rng(seed)
    costs = rng.integers(5, 101, size=projects) * 1000
    weights = 1 / np.arange(1, projects + 1) ** 0.7
    weights = weights[rng.permutation(projects)]
    weights /= weights.sum()
    sizes = np.minimum(1 + rng.poisson(4, size=ballots), min(15, projects))
    ids = [f"p{j:03d}" for j in range(projects)]
    return Election(
        budget=int(costs.sum()) // 4,
        projects=tuple(Project(ids[j], int(costs[j])) for j in range(projects)),
        ballots=tuple(
            frozenset(ids[j] for j in rng.choice(projects, size=int(k), replace=False, p=weights))
            for k in sizes
        ),
    )
