"""The end of a deadline and of a year: initiatives settled, the year accounted for."""

from __future__ import annotations

import asyncpg

from contracts import events as ev
from services.budget import events as outbox
from services.budget import initiatives as store
from services.budget import register
from services.budget.domain import initiatives as rules
from services.budget.domain.support import SupportDecision
from services.budget.handlers import Budget

_NOT_ADMITTED = "niet toegelaten of niet beslist voor het einde van het jaar"


async def settle(
    budget: Budget, conn: asyncpg.Connection, municipality: str, year: int, *, all_open: bool
) -> tuple[int, int]:
    """Decide initiatives whose deadline passed (or, at year end, all); (funded, not)."""
    now = budget.clock()
    y = await register.get_year(conn, municipality, year)
    funded = not_funded = 0
    async with conn.transaction():
        due = await store.open_ones(conn, municipality, year, due_before=None if all_open else now)
        for row in due:
            initiative = store.as_domain(row)
            if not all_open and await _on_open_ballot(conn, row["initiative_id"]):
                continue  # its round decides it, whenever the operator closes it
            support = await store.support_of(conn, row, y.allowance_cents)
            if initiative.status == "voorgesteld" or initiative.funding_rule == "vote":
                status: rules.Status = "niet-gefinancierd"
                decision = SupportDecision(False, support.supporters, 0, _NOT_ADMITTED)
            else:
                status, _ = rules.settle(initiative, support)
                decision = rules.progress(initiative, support)
            await budget.decide(conn, row, initiative, support, status, decision, now)
            funded += status == "gefinancierd"
            not_funded += status == "niet-gefinancierd"
    return funded, not_funded


async def _on_open_ballot(conn: asyncpg.Connection, initiative_id: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM round_projects p JOIN rounds r USING (round_id)"
            " WHERE r.status = 'open' AND p.project_id = $1)",
            initiative_id,
        )
    )


async def close_year(
    budget: Budget, conn: asyncpg.Connection, municipality: str, year: int
) -> rules.YearClosing:
    """Settle every open initiative of the year, account for it, and let the rest lapse."""
    now = budget.clock()
    async with conn.transaction():
        status = await conn.fetchval(
            "SELECT status FROM years WHERE municipality = $1 AND year = $2 FOR UPDATE",
            municipality,
            year,
        )
        if status != "open":
            raise register.YearError(f"{municipality} {year} is {status or 'not opened'}")
        await settle(budget, conn, municipality, year, all_open=True)
        y = await register.get_year(conn, municipality, year)
        counts = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM households WHERE municipality = $1"
            "  AND removed_at IS NULL) AS households,"
            " count(*) FILTER (WHERE status = 'gefinancierd') AS funded,"
            " count(*) FILTER (WHERE status = 'niet-gefinancierd') AS not_funded"
            " FROM initiatives WHERE municipality = $1 AND year = $2",
            municipality,
            year,
        )
        closing = rules.close_year(
            counts["households"],
            y.allowance_cents,
            await store.funded_spending(conn, municipality, year),  # type: ignore[arg-type]
        )
        await conn.execute(
            "UPDATE years SET status = 'gesloten', closed_at = $3, households = $4,"
            " spent_cents = $5, lapsed_cents = $6 WHERE municipality = $1 AND year = $2",
            municipality, year, now, closing.households, closing.spent_cents,
            closing.lapsed_cents,
        )  # fmt: skip
        await outbox.record(conn, f"{municipality}:{year}", ev.BudgetYearClosed(
            municipality=municipality, year=year, households=closing.households,
            allowance_cents=closing.allowance_cents, total_cents=closing.total_cents,
            spent_cents=closing.spent_cents, lapsed_cents=closing.lapsed_cents,
            funded=counts["funded"], not_funded=counts["not_funded"], closed_at=now,
        ), now)  # fmt: skip
    return closing
