"""asyncpg queries for budget's schema."""

from __future__ import annotations

import asyncpg


async def dashboard(conn: asyncpg.Connection) -> dict[str, list[asyncpg.Record]]:
    """Per buurt: households and initiatives."""
    return {
        "buurten": await conn.fetch(
            "SELECT h.buurt_code, count(*) AS households,"
            " (SELECT count(*) FROM initiatives i WHERE i.buurt_code = h.buurt_code) AS initiatives"
            " FROM households h GROUP BY h.buurt_code ORDER BY h.buurt_code"
        ),
        "initiatives": await conn.fetch(
            "SELECT title, buurt_code, cost_cents, status FROM initiatives"
            " ORDER BY created_at DESC LIMIT 20"
        ),
    }
