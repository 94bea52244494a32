"""The Method of Equal Shares for approval ballots (cost utilities), with "add1" completion."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction

from services.budget.domain.election import Election, Outcome, Project, Reason, outcome


def equal_shares(election: Election, increment: int | None = 1) -> Outcome:
    """Fund projects by the Method of Equal Shares, exactly as pabutools computes it.

    Every voter gets an equal share of the budget; a project is bought by its supporters, and the
    one whose supporters each pay the least per unit of its cost goes first (ties: the smaller
    project id as text). With `increment`, the per-voter share is raised by that many units of
    currency and the round re-run until the selection spends every unit it can or would exceed
    the budget (then the last selection within budget stands): "add1" completion.
    """
    if increment is not None and increment <= 0:
        raise ValueError("the increment must be positive, or None for no completion")
    n = len(election.ballots)
    supporters = _supporters(election)
    free = [p for p in election.projects if p.cost == 0 and supporters[p.project_id]]
    candidates = [p for p in election.projects if p.cost > 0 and supporters[p.project_id]]
    previous: list[Project] = list(free)
    if n == 0:
        return _outcome(election, previous, increment)
    share = Fraction(election.budget, n)
    while True:
        current = free + _run(candidates, supporters, n, share)
        if sum(p.cost for p in current) > election.budget:
            return _outcome(election, previous, increment)
        if increment is None or _exhaustive(election.budget, current, candidates):
            return _outcome(election, current, increment)
        share += increment
        previous = current


def _run(
    candidates: list[Project], supporters: dict[str, list[int]], n: int, share: Fraction
) -> list[Project]:
    # Voters who paid the same so far have the same budget: keep one value per class of voters
    # (integers per voter, Fractions per class) so a price costs a few hundred, not thousands,
    # of Fraction operations.
    wallet = _Wallets(n, share)
    # A project's price per unit of cost only rises as voters spend, so the last computed one
    # is a lower bound that lets the scan stop early (as pabutools does).
    bound = {p.project_id: Fraction(1, len(supporters[p.project_id])) for p in candidates}
    remaining = {p.project_id: p for p in candidates}
    chosen: list[Project] = []
    while True:
        best: tuple[Fraction, str, Fraction] | None = None
        for project_id in sorted(remaining, key=bound.__getitem__):
            project = remaining[project_id]
            if best is not None and bound[project_id] > best[0]:
                break
            payment = _payment(project.cost, wallet.budgets_of(supporters[project_id]))
            if payment is None:
                del remaining[project_id]
                continue
            bound[project_id] = payment / project.cost
            candidate = (bound[project_id], project_id, payment)
            if best is None or candidate[:2] < best[:2]:
                best = candidate
        if best is None:
            return chosen
        _, project_id, payment = best
        wallet.pay(supporters[project_id], payment)
        chosen.append(remaining.pop(project_id))


class _Wallets:
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


def _payment(cost: int, budgets: list[tuple[Fraction, int]]) -> Fraction | None:
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


def _supporters(election: Election) -> dict[str, list[int]]:
    result: dict[str, list[int]] = {p.project_id: [] for p in election.projects}
    for i, ballot in enumerate(election.ballots):
        for project_id in ballot:
            if project_id in result:
                result[project_id].append(i)
    return result


def _exhaustive(budget: int, chosen: list[Project], candidates: list[Project]) -> bool:
    left = budget - sum(p.cost for p in chosen)
    return all(p in chosen or p.cost > left for p in candidates)


def _outcome(election: Election, chosen: list[Project], increment: int | None) -> Outcome:
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
    return outcome(rule, election, picked, lost)
