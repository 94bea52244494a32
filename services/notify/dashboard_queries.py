"""What notify's operator dashboard reads: totals by aggregate over all deliveries, and the
attempts and dead deliveries a page at a time, newest first, filtered."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

import asyncpg

from wijkbus.web.paging import page_of

Outcome = Literal["geslaagd", "mislukt"]
ATTEMPTS_PER_PAGE, DEAD_PER_PAGE = 25, 20  # two lists on one page: shorter pages


@dataclass(frozen=True)
class Filters:
    """The lists' filters: one subscription, and for attempts their outcome."""

    subscription: UUID | None = None
    outcome: Outcome | None = None


_SUCCEEDED = "coalesce(a.status_code BETWEEN 200 AND 299, false)"


async def subscriptions(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Per subscription not deleted: where it goes and its deliveries counted by state."""
    return list(
        await conn.fetch(
            "SELECT s.id, s.owner_partner_id, s.channel, s.callback_url, s.types, s.status,"
            " s.status_reason,"
            " count(d.id) FILTER (WHERE d.status = 'delivered') AS delivered,"
            " count(d.id) FILTER (WHERE d.status = 'pending' AND d.attempts = 0) AS pending,"
            " count(d.id) FILTER (WHERE d.status = 'pending' AND d.attempts > 0) AS failing,"
            " count(d.id) FILTER (WHERE d.status = 'dead') AS dead,"
            " min(d.created_at) FILTER (WHERE d.status = 'pending') AS oldest_pending"
            " FROM subscriptions s LEFT JOIN deliveries d ON d.subscription_id = s.id"
            " WHERE s.status <> 'deleted' GROUP BY s.id ORDER BY s.created_at, s.id"
        )
    )


async def totals(conn: asyncpg.Connection) -> asyncpg.Record:
    """The cards: active subscriptions, and deliveries by state over all of them."""
    row = await conn.fetchrow(
        "SELECT (SELECT count(*) FROM subscriptions WHERE status = 'active') AS active,"
        " count(*) FILTER (WHERE d.status = 'pending') AS backlog,"
        " count(*) FILTER (WHERE d.status = 'delivered') AS delivered,"
        " count(*) FILTER (WHERE d.status = 'dead') AS dead"
        " FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id"
        " WHERE s.status <> 'deleted'"
    )
    assert row is not None  # an aggregate always has its one row
    return row


async def attempt_page(
    conn: asyncpg.Connection, filters: Filters, raw_page: str | None
) -> dict[str, Any]:
    """Delivery attempts matching `filters`: how many, and the page asked for, newest first."""
    where = (
        "($1::uuid IS NULL OR a.subscription_id = $1)"
        f" AND ($2::text IS NULL OR {_SUCCEEDED} = ($2 = 'geslaagd'))"
    )
    args = (filters.subscription, filters.outcome)
    total = await conn.fetchval(f"SELECT count(*) FROM delivery_attempts a WHERE {where}", *args)
    page = page_of(raw_page, total, ATTEMPTS_PER_PAGE)
    rows = await conn.fetch(
        "SELECT a.id, a.at, a.subscription_id, d.event_type, d.event_id, a.attempt,"
        f" a.status_code, a.latency_ms, a.error, {_SUCCEEDED} AS succeeded"
        " FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id"
        f" WHERE {where} ORDER BY a.at DESC, a.id DESC LIMIT $3 OFFSET $4",
        *args,
        page.size,
        page.offset,
    )
    return {"attempt_total": total, "attempt_page": page, "attempts": rows}


async def dead_page(
    conn: asyncpg.Connection, filters: Filters, raw_page: str | None
) -> dict[str, Any]:
    """Dead deliveries (of one subscription, if asked): how many, and a page, newest first."""
    where = "d.status = 'dead' AND ($1::uuid IS NULL OR d.subscription_id = $1)"
    total = await conn.fetchval(
        f"SELECT count(*) FROM deliveries d WHERE {where}", filters.subscription
    )
    page = page_of(raw_page, total, DEAD_PER_PAGE)
    rows = await conn.fetch(
        "SELECT d.id, d.subscription_id, d.event_type, d.event_id, d.attempts, d.last_error,"
        f" d.finished_at FROM deliveries d WHERE {where}"
        " ORDER BY d.finished_at DESC NULLS LAST, d.id DESC LIMIT $2 OFFSET $3",
        filters.subscription,
        page.size,
        page.offset,
    )
    return {"dead_total": total, "dead_page": page, "dead": rows}


async def dashboard(
    conn: asyncpg.Connection, filters: Filters, pages: Mapping[str, str]
) -> dict[str, Any]:
    """Everything the dashboard shows of notify's own: subscriptions, totals, both lists."""
    return {
        "subscriptions": await subscriptions(conn),
        "totals": await totals(conn),
        **await attempt_page(conn, filters, pages.get("pagina")),
        **await dead_page(conn, filters, pages.get("dood")),
    }


FINGERPRINT = (
    "SELECT (SELECT max(id) FROM delivery_attempts), (SELECT max(id) FROM deliveries),"
    " (SELECT count(*) FROM deliveries WHERE status = 'pending'),"
    " (SELECT count(*) FROM deliveries WHERE status = 'dead'),"
    " (SELECT max(id) FROM dead_letters),"
    " (SELECT count(*) || max(coalesce(status_changed_at, created_at))::text"
    "  FROM subscriptions)"
)
"""What changes when anything the dashboard shows changes: newest rows and state counts."""
