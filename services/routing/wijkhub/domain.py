"""The wijkhub's rules: what a hub covers, when it runs, which hubs may not coexist.

Pure: no I/O and no clock; callers pass in the hubs, the signal's street and the time.

A hub runs from `starts_at` (never before it was opened: a hub is not recorded in the past)
until its effective end, the planned `ends_at` or its close if that came first. A signal falls
in a hub when its street is covered and intake accepted it while the hub ran — a function of
the signal and the hub alone, so a replay marks exactly the signals live marked.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from contracts.wijkhubs import WijkhubOpened

Status = Literal["gepland", "lopend", "afgelopen", "gesloten"]


class UnknownHub(LookupError):
    """No wijkhub has this id (404 in the API)."""


class DecisionRefused(Exception):
    """A decision on a hub that its state does not allow (409 in the API)."""


class PlanRefused(ValueError):
    """A hub plan that cannot be opened as asked; `problems` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Contact:
    """The hub's contact person: personal data, sealed; only the role is shown openly."""

    name: str
    role: str
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Plan:
    """What the gebiedsmanager asks for: ground, address, days (inclusive), team and aims."""

    street_keys: tuple[str, ...]
    buurt_code: str | None
    address: str
    starts_on: date
    ends_on: date
    partners: tuple[str, ...]
    contact: Contact
    aims: str


@dataclass(frozen=True)
class Hub:
    """What matching and overlap need to know of a hub."""

    hub_id: str
    street_keys: frozenset[str]
    buurt_code: str | None
    starts_at: datetime
    ends_at: datetime
    opened_at: datetime
    closed_at: datetime | None = None

    @property
    def end(self) -> datetime:
        """The effective end: the planned end, or the close if it came first."""
        if self.closed_at is not None and self.closed_at < self.ends_at:
            return self.closed_at
        return self.ends_at

    def covers(self, street_key: str, buurt_code: str | None) -> bool:
        """Whether a signal on this street (in this buurt) is on the hub's ground."""
        in_buurt = self.buurt_code is not None and buurt_code == self.buurt_code
        return street_key in self.street_keys or in_buurt

    def runs_at(self, moment: datetime) -> bool:
        """Whether the hub ran at `moment` (and had been opened before it)."""
        return self.opened_at < moment and self.starts_at <= moment < self.end

    def status(self, now: datetime) -> Status:
        """Where the hub stands at `now`."""
        if self.closed_at is not None:
            return "gesloten"
        if now < self.starts_at:
            return "gepland"
        return "lopend" if now < self.ends_at else "afgelopen"


def hub_of(
    hubs: Iterable[Hub], street_key: str, buurt_code: str | None, received_at: datetime
) -> str | None:
    """The hub a signal accepted at `received_at` on this street falls in, if any."""
    for hub in hubs:
        if hub.covers(street_key, buurt_code) and hub.runs_at(received_at):
            return hub.hub_id
    return None


def overlapping(new: Hub, others: Iterable[Hub], buurt_of: Mapping[str, str | None]) -> list[str]:
    """The hubs whose ground and period overlap `new`'s: one street has one hub at a time.

    `buurt_of` gives the buurt of each street the hubs name, so a street hub and a buurt hub
    of the street's buurt are seen to overlap.
    """
    return [
        other.hub_id
        for other in others
        if other.hub_id != new.hub_id
        and other.starts_at < new.end
        and new.starts_at < other.end
        and _shares_ground(new, other, buurt_of)
    ]


def _shares_ground(a: Hub, b: Hub, buurt_of: Mapping[str, str | None]) -> bool:
    if a.street_keys & b.street_keys:
        return True
    if a.buurt_code is not None and a.buurt_code == b.buurt_code:
        return True
    return any(b.covers(s, buurt_of.get(s)) for s in a.street_keys) or any(
        a.covers(s, buurt_of.get(s)) for s in b.street_keys
    )


def may_extend(hub: Hub, ends_at: datetime, now: datetime) -> None:
    """Refuse an extension of a closed or ended hub, or one that does not make it longer.

    Only while it runs: a hub extended after its end would mark, on a replay, signals that
    live had already judged outside it.
    """
    if hub.closed_at is not None:
        raise DecisionRefused("the wijkhub is closed")
    if now >= hub.ends_at:
        raise DecisionRefused("the wijkhub's period has ended; open a new one")
    if ends_at <= hub.ends_at:
        raise DecisionRefused("the new end must be after the current end")


def may_close(hub: Hub) -> None:
    """Refuse closing a hub twice."""
    if hub.closed_at is not None:
        raise DecisionRefused("the wijkhub is already closed")


def plan_problems(
    plan: Plan,
    known_streets: Collection[str],
    partners: Collection[str],
    opened: WijkhubOpened,
    today: date,
) -> list[str]:
    """Every reason the plan cannot be opened as `opened` on `today` (none: it can)."""
    problems = [f"street_keys: no incidents known for {k!r}"
                for k in plan.street_keys if k not in known_streets]  # fmt: skip
    problems += [f"partners: {p!r} is not a registered partner"
                 for p in plan.partners if p not in partners]  # fmt: skip
    if not plan.street_keys and not plan.buurt_code:
        problems.append("name the street_keys or the buurt_code the wijkhub covers")
    if plan.buurt_code and not opened.city:
        problems.append(f"buurt_code: no incidents known in {plan.buurt_code!r}")
    if plan.starts_on < today:
        problems.append("starts_on: a wijkhub is not opened in the past")
    if opened.ends_at <= opened.starts_at:
        problems.append("ends_on: must not be before starts_on")
    return problems
