"""asyncpg queries for budget's dashboard (the rounds' own queries are in round_store)."""

from __future__ import annotations

import asyncpg


async def dashboard(conn: asyncpg.Connection) -> dict[str, list[asyncpg.Record]]:
    """Per buurt: households and participation; initiatives with support; years; round results."""
    return {
        "buurten": await conn.fetch(
            "SELECT h.municipality, h.buurt_code, count(*) AS households,"
            " count(c.household_id) AS codes,"
            " (SELECT count(DISTINCT s.supporter) FROM supports s JOIN years y"
            "   ON y.municipality = s.municipality AND y.year = s.year AND y.status = 'open'"
            "   WHERE s.municipality = h.municipality AND s.buurt_code = h.buurt_code)"
            "   AS participating"
            " FROM households h"
            " LEFT JOIN years y ON y.municipality = h.municipality AND y.status = 'open'"
            " LEFT JOIN voting_codes c ON c.household_id = h.household_id AND c.year = y.year"
            " WHERE h.removed_at IS NULL"
            " GROUP BY h.municipality, h.buurt_code ORDER BY h.municipality, h.buurt_code"
        ),
        "initiatives": await conn.fetch(
            "SELECT i.initiative_id::text, i.title, i.buurt_code, i.year, i.funding_rule,"
            " i.cost_cents, i.status, i.reason, i.deadline,"
            " count(s.supporter) AS supporters, coalesce(sum(s.amount_cents), 0) AS pledged"
            " FROM initiatives i LEFT JOIN supports s USING (initiative_id)"
            " GROUP BY i.initiative_id"
            " ORDER BY i.status = 'voorgesteld' DESC, i.status = 'open' DESC, i.created_at DESC"
            " LIMIT 200"
        ),
        "years": await conn.fetch(
            "SELECT municipality, year, allowance_cents, funding_rule, status, households,"
            " spent_cents, lapsed_cents FROM years ORDER BY year DESC, municipality"
        ),
        "rounds": await conn.fetch(
            "SELECT r.round_id, r.title, r.buurt_code, r.budget, r.status, d.rule, d.spent,"
            " d.partial_project_id, d.partial_amount, d.tie,"
            " (SELECT count(*) FROM round_ballots b WHERE b.round_id = r.round_id) AS ballots"
            " FROM rounds r LEFT JOIN round_decisions d USING (round_id)"
            " ORDER BY r.created_at DESC LIMIT 20"
        ),
    }
