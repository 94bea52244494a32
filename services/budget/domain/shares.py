"""One run of equal shares at a fixed per-voter share: numpy floats, exact Fractions where close.

Budgets and prices are tracked as float64 arrays, which is fast. Where floats cannot tell two
projects apart (their prices within `CLOSE` of each other) or cannot tell whether supporters can
afford a project (their budgets within `CLOSE` of its cost), the prices are computed again
exactly, with Fractions, from exact budgets replayed over the projects chosen so far. So the run
picks exactly what an all-Fraction computation (and pabutools) picks, at float speed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from services.budget.domain.election import Project

CLOSE = 1e-9
Indices = npt.NDArray[np.intp]


@dataclass(frozen=True)
class Run:
    """The projects one run buys, in order, and whether the last one won a tie of prices."""

    chosen: list[Project]
    tie: bool


def run(
    candidates: Sequence[Project], supporters: Mapping[str, Indices], n: int, share: Fraction
) -> Run:
    """Buy projects while some group of supporters can pay for one, cheapest per unit first.

    A project's price per unit of cost only rises as voters spend, so the last computed one is a
    lower bound that lets the scan stop early (as pabutools does).
    """
    budgets = np.full(n, float(share))
    exact = _Exact(n, share, supporters)
    bound = {p.project_id: 1.0 / len(supporters[p.project_id]) for p in candidates}
    remaining = {p.project_id: p for p in candidates}
    chosen: list[Project] = []
    tie = False
    while True:
        close: list[tuple[Project, bool]] = []
        best = float("inf")
        for project_id in sorted(remaining, key=lambda i: (bound[i], i)):
            if bound[project_id] > best * (1 + CLOSE):
                break
            project = remaining[project_id]
            price, sure = _price(project.cost, budgets[supporters[project_id]])
            if price is None:
                del remaining[project_id]
                continue
            bound[project_id] = price / project.cost
            if bound[project_id] <= best * (1 + CLOSE):
                close.append((project, sure))
                best = min(best, bound[project_id])
        close = [(p, sure) for p, sure in close if bound[p.project_id] <= best * (1 + CLOSE)]
        if not close:
            return Run(chosen, tie)
        if len(close) == 1 and close[0][1]:
            project = close[0][0]
            payment, tie = bound[project.project_id] * project.cost, False
        else:
            picked = exact.cheapest(chosen, [p for p, _ in close])
            if picked is None:
                for p, _ in close:
                    del remaining[p.project_id]
                continue
            project, exact_payment, tie = picked
            payment = float(exact_payment)
        mine = supporters[project.project_id]
        budgets[mine] -= np.minimum(budgets[mine], payment)
        chosen.append(remaining.pop(project.project_id))


def _price(cost: int, budgets: npt.NDArray[np.float64]) -> tuple[float | None, bool]:
    """What each supporter pays (at most all they have), or None if surely unaffordable; and
    whether floats are sure it is affordable at all."""
    ordered = np.sort(budgets)
    total = float(ordered.sum())
    sure = abs(total - cost) > CLOSE * cost
    if total < cost and sure:
        return None, True
    before = np.concatenate(([0.0], np.cumsum(ordered)[:-1]))
    prices = (cost - before) / np.arange(len(ordered), 0, -1)
    fits = prices <= ordered
    first = int(np.argmax(fits))
    return (float(prices[first]) if fits[first] else float(ordered[-1])), sure


class _Exact:
    """Exact budgets, replayed lazily over the projects chosen so far."""

    def __init__(self, n: int, share: Fraction, supporters: Mapping[str, Indices]) -> None:
        self.wallets = Wallets(n, share)
        self.supporters = supporters
        self.applied = 0

    def cheapest(
        self, chosen: list[Project], close: list[Project]
    ) -> tuple[Project, Fraction, bool] | None:
        """Of these projects, the one its supporters buy cheapest per unit (exactly), the payment
        and whether another costs as little; None if none is affordable."""
        for project in chosen[self.applied :]:
            voters = self._voters(project)
            payment = payment_of(project.cost, self.wallets.budgets_of(voters))
            assert payment is not None, "a chosen project was affordable"
            self.wallets.pay(voters, payment)
        self.applied = len(chosen)
        priced = []
        for project in close:
            payment = payment_of(project.cost, self.wallets.budgets_of(self._voters(project)))
            if payment is not None:
                priced.append((payment / project.cost, project.project_id, project, payment))
        if not priced:
            return None
        priced.sort(key=lambda t: (t[0], t[1]))
        _, _, project, payment = priced[0]
        return project, payment, len(priced) > 1 and priced[1][0] == priced[0][0]

    def _voters(self, project: Project) -> list[int]:
        return self.supporters[project.project_id].tolist()


class Wallets:
    """Every voter's remaining budget, stored once per distinct value."""

    def __init__(self, n: int, share: Fraction) -> None:
        self.values: list[Fraction] = [share]
        self.index: dict[Fraction, int] = {share: 0}
        self.of_voter = [0] * n

    def budgets_of(self, voters: list[int]) -> list[tuple[Fraction, int]]:
        """The distinct budgets among these voters, ascending, each with how many hold it."""
        counts = Counter(self.of_voter[i] for i in voters)
        return sorted((self.values[c], k) for c, k in counts.items())

    def pay(self, voters: list[int], payment: Fraction) -> None:
        """Each voter pays `payment`, or everything they have left if that is less."""
        moved: dict[int, int] = {}
        for i in voters:
            old = self.of_voter[i]
            if old not in moved:
                value = self.values[old]
                moved[old] = self._class(value - min(value, payment))
            self.of_voter[i] = moved[old]

    def _class(self, value: Fraction) -> int:
        if value not in self.index:
            self.index[value] = len(self.values)
            self.values.append(value)
        return self.index[value]


def payment_of(cost: int, budgets: list[tuple[Fraction, int]]) -> Fraction | None:
    """What each supporter pays (at most all they have), or None if together they cannot.

    Walking up from the poorest, a class that cannot pay the even split pays all it has; if the
    walk runs out of supporters, their budgets together fall short of the cost.
    """
    paid, left = Fraction(0), sum(count for _, count in budgets)
    for value, count in budgets:
        price = (cost - paid) / left
        if price <= value:
            return price
        paid += value * count
        left -= count
    return None
