"""In a `vote` year a buurt's admitted initiatives form its round; closing it decides them.

The operator opens the round; its ballot is every initiative of the buurt that is admitted then
(project id = initiative id), its budget every household's allowance. Rounds count whole euros
(as pabulib's do), so an initiative's cost is rounded up to the euro: never more is spent than
the budget holds.
"""

from __future__ import annotations

import asyncpg

from services.budget import ballots
from services.budget import initiatives as store
from services.budget.domain.initiatives import Status, Support
from services.budget.domain.support import SupportDecision
from services.budget.handlers import Budget

DEFAULT_RULE = "equalshares/add1"


async def formable(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Buurten of an open `vote` year with admitted initiatives and no open round yet."""
    return await conn.fetch(
        "SELECT i.municipality, i.year, i.buurt_code, count(*) AS initiatives,"
        " sum(i.cost_cents)::bigint AS cost_cents, y.allowance_cents,"
        " (SELECT count(*) FROM households h WHERE h.municipality = i.municipality"
        "   AND h.buurt_code = i.buurt_code AND h.removed_at IS NULL) AS households"
        " FROM initiatives i JOIN years y USING (municipality, year)"
        " WHERE y.status = 'open' AND y.funding_rule = 'vote' AND i.funding_rule = 'vote'"
        " AND i.status = 'open' AND NOT EXISTS (SELECT 1 FROM rounds r"
        "   WHERE r.municipality = i.municipality AND r.year = i.year"
        "   AND r.buurt_code = i.buurt_code AND r.status = 'open')"
        " GROUP BY i.municipality, i.year, i.buurt_code, y.allowance_cents"
        " ORDER BY i.municipality, i.buurt_code"
    )


async def form_round(
    conn: asyncpg.Connection,
    municipality: str,
    year: int,
    buurt_code: str,
    title: str,
    rule: str = DEFAULT_RULE,
) -> str:
    """Open the buurt's round over its admitted initiatives; the new round's id."""
    async with conn.transaction():
        admitted = await conn.fetch(
            "SELECT initiative_id::text, title, cost_cents FROM initiatives"
            " WHERE municipality = $1 AND year = $2 AND buurt_code = $3 AND status = 'open'"
            " AND funding_rule = 'vote' ORDER BY created_at FOR UPDATE",
            municipality, year, buurt_code,
        )  # fmt: skip
        if not admitted:
            raise ballots.RoundError("deze buurt heeft geen toegelaten initiatieven")
        allowance, households, earlier = await conn.fetchrow(
            "SELECT y.allowance_cents, (SELECT count(*) FROM households h"
            "  WHERE h.municipality = $1 AND h.buurt_code = $3 AND h.removed_at IS NULL),"
            " (SELECT count(*) FROM rounds r WHERE r.municipality = $1 AND r.year = $2"
            "  AND r.buurt_code = $3)"
            " FROM years y WHERE y.municipality = $1 AND y.year = $2 AND y.funding_rule = 'vote'",
            municipality, year, buurt_code,
        ) or (None, 0, 0)  # fmt: skip
        if allowance is None:
            raise ballots.RoundError(f"{municipality} {year} is geen jaar met een stemronde")
        round_id = f"{municipality}:{year}:{buurt_code}:{earlier + 1}"
        await ballots.open_round(conn, ballots.NewRound(
            round_id, title, municipality, year, buurt_code, households * allowance // 100, rule,
            1, None,
            tuple(ballots.RoundProject(a["initiative_id"], a["title"], -(-a["cost_cents"] // 100))
                  for a in admitted),
        ))  # fmt: skip
    return round_id


async def close_and_decide(budget: Budget, conn: asyncpg.Connection, round_id: str) -> int:
    """Close a round; each initiative on its ballot is funded or not by the outcome. How many."""
    now = budget.clock()
    async with conn.transaction():
        outcome = await ballots.close_round(conn, round_id, now)
        decided = 0
        for result in outcome.results:
            try:
                row = await store.load_for_update(conn, result.project_id)
            except store.UnknownInitiativeError:
                continue  # a project that is no initiative (an imported round)
            if row["status"] != "open" or row["funding_rule"] != "vote":
                continue
            funded = result.selected or result.funded > 0  # in part, from the leftover
            status: Status = "gefinancierd" if funded else "niet-gefinancierd"
            votes = f"{result.votes} {'stem' if result.votes == 1 else 'stemmen'}"
            reason = f"stemronde: {result.reason} ({votes})"
            support = Support(result.votes, 0, 0)
            decision = SupportDecision(funded, result.votes, 0, reason)
            await budget.decide(conn, row, store.as_domain(row), support, status, decision, now)
            decided += 1
    return decided
