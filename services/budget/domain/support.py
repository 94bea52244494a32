"""The two support rules for initiatives: `pledge` (allowances) and `majority` (households)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass


class AlreadyPledgedError(ValueError):
    """The household already pledged its allowance this year."""


@dataclass(frozen=True)
class Pledge:
    """A household pledging its allowance of one year to one initiative."""

    household_id: str
    initiative_id: str
    year: int


@dataclass(frozen=True)
class SupportDecision:
    """Whether an initiative is funded, how much support it has, what it needs, and why (Dutch)."""

    funded: bool
    have: int
    need: int
    reason: str


def accept_pledge(existing: Iterable[Pledge], new: Pledge) -> Pledge:
    """Accept a pledge unless the household already pledged this year (to any initiative)."""
    for pledge_ in existing:
        if pledge_.household_id == new.household_id and pledge_.year == new.year:
            raise AlreadyPledgedError(
                f"household already pledged in {new.year} to {pledge_.initiative_id}"
            )
    return new


def pledge(cost_cents: int, allowance_cents: int, pledges: Iterable[Pledge]) -> SupportDecision:
    """Funded when the pledged allowances (one per household) cover the cost."""
    return pledged(cost_cents, allowance_cents, len({p.household_id for p in pledges}))


def pledged(cost_cents: int, allowance_cents: int, households: int) -> SupportDecision:
    """The pledge rule on a count: funded when `households` allowances cover the cost."""
    have = households * allowance_cents
    if have >= cost_cents:
        return SupportDecision(True, have, cost_cents, "de toezeggingen dekken de kosten")
    return SupportDecision(
        False, have, cost_cents, f"nog {_euros(cost_cents - have)} nodig van de kosten"
    )


def majority(supporters: Iterable[str], households: Collection[str]) -> SupportDecision:
    """Funded as soon as more than half of the buurt's households support it."""
    register = set(households)
    return supported_by(len(register.intersection(supporters)), len(register))


def supported_by(supporters: int, households: int) -> SupportDecision:
    """The majority rule on counts: funded when more than half of `households` support it."""
    have = supporters
    need = households // 2 + 1
    if households and have >= need:
        return SupportDecision(True, have, need, "een meerderheid van de huishoudens steunt het")
    return SupportDecision(
        False, have, need, f"nog {need - have} huishoudens nodig voor een meerderheid"
    )


def _euros(cents: int) -> str:
    return f"€{cents // 100},{cents % 100:02d}"
