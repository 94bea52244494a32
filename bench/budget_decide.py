"""Deciding the largest pabulib round with greedy and with equal shares (add1), beside pabutools.

pabutools is a test-only dependency and is imported only here and in the tests. The figure is
our time; the ceiling is pabutools' time on the same file in the same run; the ratio is ours
divided by theirs (below 1: we are faster). Parsing is timed apart from deciding.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from services.budget.domain import Election, equal_shares, greedy
from services.budget.pabulib import parse_path, to_election
from wijkbus.infra import Backend

PABULIB = Path("/work/shared/data/pabulib")


def _largest() -> Path:
    return max(PABULIB.glob("*.pb"), key=lambda p: len(parse_path(p).votes))


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def _measure(path: Path, repeat: int) -> list[str]:
    from pabutools.election import Cost_Sat, parse_pabulib
    from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares

    ours_parse, election = _timed(lambda: to_election(parse_path(path)), repeat)
    theirs_parse, (instance, profile) = _timed(lambda: parse_pabulib(str(path)), repeat)
    assert isinstance(election, Election)
    rules: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        (
            "greedy",
            lambda: greedy(election),
            lambda: greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat),
        ),
        (
            "equalshares/add1",
            lambda: equal_shares(election),
            lambda: method_of_equal_shares(
                instance, profile, sat_class=Cost_Sat, voter_budget_increment=1
            ),
        ),
    ]
    lines = [
        f"budget_decide: {path.name}, {len(election.ballots)} ballots, "
        f"{len(election.projects)} projects, best of {repeat}",
        f"  parse            ours {ours_parse:8.3f} s   pabutools {theirs_parse:8.3f} s   "
        f"ratio {ours_parse / theirs_parse:5.2f}",
    ]
    for name, ours_fn, theirs_fn in rules:
        ours, outcome = _timed(ours_fn, repeat)
        theirs, reference = _timed(theirs_fn, repeat)
        same = set(outcome.selected) == {p.name for p in reference}
        lines.append(
            f"  {name:<16} ours {ours:8.3f} s   pabutools {theirs:8.3f} s   "
            f"ratio {ours / theirs:5.2f}   same winners: {same}"
        )
    return lines


async def main(backend: Backend, quick: bool) -> list[str]:
    """Seconds to decide the largest round with both rules, beside pabutools on the same file."""
    path = PABULIB / "Netherlands_Assen_2024.pb" if quick else _largest()
    return await asyncio.to_thread(_measure, path, 1 if quick else 3)
