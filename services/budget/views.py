"""What a resident sees after entering their code: the buurt's initiatives and their progress."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from services.budget import ballots, register
from services.budget import initiatives as store
from services.budget.domain import initiatives as rules
from services.budget.handlers import Budget


@dataclass(frozen=True)
class InitiativeView:
    """One initiative as a resident sees it."""

    initiative_id: str
    title: str
    description: str
    cost_cents: int
    status: str
    deadline: str | None
    have: int
    need: int
    reason: str
    supported: bool


@dataclass(frozen=True)
class Proposal:
    """An initiative the household proposed, as its initiator follows it."""

    title: str
    cost_cents: int
    status: str
    reason: str


@dataclass(frozen=True)
class ResidentView:
    """A household's page: its buurt, rule, initiatives, and an open vote round if any."""

    buurt_code: str
    year: int
    funding_rule: str
    allowance_cents: int
    initiatives: list[InitiativeView]
    pledged_to: str | None
    round: asyncpg.Record | None
    projects: list[asyncpg.Record]
    proposals: list[Proposal]
    decided_rounds: int


async def resident_view(budget: Budget, conn: asyncpg.Connection, code: str) -> ResidentView:
    """The page of the household whose code this is (refused for an unknown code)."""
    holder = await budget.holder(conn, code)
    me = await budget.supporter(conn, holder)
    households = await register.buurt_households(conn, holder.municipality, holder.buurt_code)
    mine = set(await store.supported_by(conn, holder.municipality, holder.year, me))
    views = []
    for row in await store.of_buurt(conn, holder.municipality, holder.year, holder.buurt_code):
        support = rules.Support(row["supporters"], holder.allowance_cents, households)
        initiative = store.as_domain(row)
        decision = (
            rules.progress(initiative, support) if initiative.funding_rule != "vote" else None
        )
        views.append(
            InitiativeView(
                initiative_id=row["initiative_id"],
                title=row["title"],
                description=row["description"],
                cost_cents=row["cost_cents"],
                status=row["status"],
                deadline=row["deadline"].strftime("%d-%m-%Y") if row["deadline"] else None,
                have=decision.have if decision else 0,
                need=decision.need if decision else 0,
                reason=decision.reason if decision else "",
                supported=row["initiative_id"] in mine,
            )
        )
    pledged_to = next((v.title for v in views if v.supported), None)
    round_ = await ballots.open_round_of(conn, holder.municipality, holder.year, holder.buurt_code)
    projects = (
        await conn.fetch(
            "SELECT project_id, title, cost FROM round_projects WHERE round_id = $1"
            " ORDER BY project_id",
            round_["round_id"],
        )
        if round_
        else []
    )
    proposals = [
        Proposal(r["title"], r["cost_cents"], r["status"], r["reason"] or "")
        for r in await store.proposed_by(conn, holder.municipality, holder.year, me)
    ]
    decided = await conn.fetchval(
        "SELECT count(*) FROM rounds r JOIN round_decisions USING (round_id)"
        " WHERE r.municipality = $1 AND r.year = $2 AND r.buurt_code = $3",
        holder.municipality, holder.year, holder.buurt_code,
    )  # fmt: skip
    return ResidentView(
        holder.buurt_code, holder.year, holder.funding_rule, holder.allowance_cents, views,
        pledged_to if holder.funding_rule == "pledge" else None, round_, projects, proposals,
        decided,
    )  # fmt: skip
