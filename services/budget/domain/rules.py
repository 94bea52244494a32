"""Funding rules by the name pabulib's META `rule` gives them."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from services.budget.domain.by_votes import greedy
from services.budget.domain.election import Election, Outcome, UnknownRuleError
from services.budget.domain.mes import equal_shares

RULES: dict[str, Callable[[Election], Outcome]] = {
    "greedy": greedy,
    "equalshares": partial(equal_shares, increment=None),
    "equalshares/add1": partial(equal_shares, increment=1),
}


def decide(election: Election, rule: str) -> Outcome:
    """Decide a round with the named rule (greedy, equalshares, equalshares/add1)."""
    if rule not in RULES:
        raise UnknownRuleError(f"unknown rule {rule!r}; known: {', '.join(RULES)}")
    return RULES[rule](election)
