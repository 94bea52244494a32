"""The kit's dead letters on a service's dashboard: counted over all of them, shown a page at a
time, newest first, their reasons in Dutch."""

from __future__ import annotations

from typing import Any

import asyncpg

from wijkbus.web.paging import Page, page_of

PAGE_SIZE = 20


async def dead_letter_page(conn: asyncpg.Connection, raw_page: str | None) -> dict[str, Any]:
    """The total, the page asked for (ValueError for no page number) and its rows."""
    total = await conn.fetchval("SELECT count(*) FROM dead_letters")
    page: Page = page_of(raw_page, total, PAGE_SIZE)
    rows = await conn.fetch(
        "SELECT id, consumer, topic, reason, attempts, created_at FROM dead_letters"
        " ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2",
        page.size,
        page.offset,
    )
    return {"dead_letter_total": total, "dead_letter_page": page, "dead_letters": rows}
