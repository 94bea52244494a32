"""An initiative's life: proposed, admitted or declined, supported until its deadline, settled."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from services.budget.domain.support import SupportDecision, pledged, supported_by

Status = Literal[
    "voorgesteld", "open", "afgewezen", "gefinancierd", "niet-gefinancierd", "ingetrokken"
]
FundingRule = Literal["pledge", "majority", "vote"]
FINAL: frozenset[str] = frozenset({"afgewezen", "gefinancierd", "niet-gefinancierd", "ingetrokken"})


class InitiativeStateError(ValueError):
    """The initiative is not in a state that allows this step; the message is Dutch."""


@dataclass(frozen=True)
class Initiative:
    """What the rules need to know about an initiative."""

    initiative_id: str
    status: Status
    cost_cents: int
    funding_rule: FundingRule
    deadline: datetime | None


@dataclass(frozen=True)
class Support:
    """How much support an initiative has now: households behind it, and its buurt's size."""

    supporters: int
    allowance_cents: int
    buurt_households: int


def admit(initiative: Initiative, deadline: datetime, now: datetime) -> Initiative:
    """An operator admits a proposed initiative: open for support until `deadline`."""
    if initiative.status != "voorgesteld":
        raise InitiativeStateError(f"alleen een voorgesteld initiatief kan worden toegelaten, "
                                   f"dit is {initiative.status}")  # fmt: skip
    if deadline <= now:
        raise InitiativeStateError("de deadline moet in de toekomst liggen")
    return replace(initiative, status="open", deadline=deadline)


def decline(initiative: Initiative, reason: str) -> Initiative:
    """An operator declines a proposed initiative, always with a reason."""
    if initiative.status != "voorgesteld":
        raise InitiativeStateError(f"alleen een voorgesteld initiatief kan worden afgewezen, "
                                   f"dit is {initiative.status}")  # fmt: skip
    if not reason.strip():
        raise InitiativeStateError("geef een reden voor de afwijzing")
    return replace(initiative, status="afgewezen")


def withdraw(initiative: Initiative) -> Initiative:
    """The initiator withdraws an initiative that is not yet decided."""
    if initiative.status in FINAL:
        raise InitiativeStateError(f"het initiatief is al {initiative.status}")
    return replace(initiative, status="ingetrokken")


def check_open_for_support(initiative: Initiative, now: datetime) -> None:
    """Raise unless households may support (or withdraw support from) it now."""
    if initiative.funding_rule == "vote":
        raise InitiativeStateError("over dit initiatief wordt in een stemronde beslist")
    if initiative.status != "open":
        raise InitiativeStateError(f"dit initiatief is {initiative.status}: steunen kan niet meer")
    if initiative.deadline is not None and now >= initiative.deadline:
        raise InitiativeStateError("de deadline van dit initiatief is verstreken")


def progress(initiative: Initiative, support: Support) -> SupportDecision:
    """How far an initiative is by its funding rule (pledges against cost, or a majority)."""
    if initiative.funding_rule == "pledge":
        return pledged(initiative.cost_cents, support.allowance_cents, support.supporters)
    if initiative.funding_rule == "majority":
        return supported_by(support.supporters, support.buurt_households)
    raise InitiativeStateError(f"unknown funding rule {initiative.funding_rule!r}")


def settle(initiative: Initiative, support: Support) -> tuple[Status, str]:
    """At the deadline or year end: an open initiative becomes funded or not funded."""
    if initiative.status != "open":
        return initiative.status, "al beslist"
    decision = progress(initiative, support)
    return ("gefinancierd" if decision.funded else "niet-gefinancierd"), decision.reason


@dataclass(frozen=True)
class YearClosing:
    """A year's account: every household's allowance, what was spent on funded initiatives,
    and what lapsed."""

    households: int
    allowance_cents: int
    total_cents: int
    spent_cents: int
    lapsed_cents: int


def close_year(
    households: int, allowance_cents: int, funded: Iterable[tuple[FundingRule, int, int]]
) -> YearClosing:
    """Account for a year; `funded` holds (rule, cost, pledged cents) per funded initiative.

    A pledge initiative spends the pledged allowances up to its cost; a majority initiative
    spends its cost from the buurt's pot. What households had and did not spend lapses.
    """
    total = households * allowance_cents
    spent = sum(
        min(cost, pledged_) if rule == "pledge" else cost for rule, cost, pledged_ in funded
    )
    spent = min(spent, total)
    return YearClosing(households, allowance_cents, total, spent, total - spent)
