"""The delivery log keeps attempts for the configured number of days, by the injected clock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from services.notify.app import build
from tests.integration.test_notify_flow import settings_for
from tests.support import demo_registry, eventually, running_app

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


async def test_attempts_older_than_the_retention_period_are_deleted_periodically(
    fresh_database: str, kafka_bootstrap: str
) -> None:
    registry, creds = demo_registry()
    settings = settings_for(fresh_database, kafka_bootstrap, creds).model_copy(
        update={"attempt_retention_days": 7, "retention_interval_s": 0.2}
    )
    clock = {"now": NOW}
    app = build(settings, partners=registry, clock=lambda: clock["now"])
    ages = {"old": 10, "edge": 6, "fresh": 0}  # days before NOW
    async with running_app(app):
        conn = await asyncpg.connect(fresh_database)
        try:
            await _log_attempts(conn, ages)

            async def remaining() -> set[str] | None:
                rows = await conn.fetch("SELECT error FROM notify.delivery_attempts")
                left = {r["error"] for r in rows}
                return left if "old" not in left else None

            assert await eventually(remaining, what="the 10-day-old attempt deleted") == {
                "edge",
                "fresh",
            }
            clock["now"] = NOW + timedelta(days=2)  # the 6-day-old one is now 8 days old

            async def edge_gone() -> set[str] | None:
                left = await remaining()
                return left if left == {"fresh"} else None

            await eventually(edge_gone, what="the now 8-day-old attempt deleted")
            deliveries = await conn.fetchval("SELECT count(*) FROM notify.deliveries")
            assert deliveries == 1  # only the log is trimmed, not the queue
        finally:
            await conn.close()


async def _log_attempts(conn: asyncpg.Connection, ages: dict[str, int]) -> None:
    sub = uuid.uuid4()
    await conn.execute(
        "INSERT INTO notify.subscriptions (id, channel, email_address, types, created_at)"
        " VALUES ($1, 'email', 'team@example.nl', ARRAY['nl.'], $2)",
        sub,
        NOW - timedelta(days=30),
    )
    delivery = await conn.fetchval(
        "INSERT INTO notify.deliveries (subscription_id, event_source, event_id, event_type,"
        " body, status, next_attempt_at, created_at)"
        " VALUES ($1, 'urn:test', 'ev-1', 'nl.test', '{}', 'dead', $2, $2) RETURNING id",
        sub,
        NOW - timedelta(days=30),
    )
    for label, days in ages.items():
        await conn.execute(
            "INSERT INTO notify.delivery_attempts (delivery_id, subscription_id, attempt,"
            " status_code, latency_ms, error, at) VALUES ($1, $2, 1, 500, 3, $3, $4)",
            delivery,
            sub,
            label,
            NOW - timedelta(days=days),
        )


async def test_feed_items_older_than_their_hours_are_forgotten(
    fresh_database: str, kafka_bootstrap: str
) -> None:
    registry, creds = demo_registry()
    settings = settings_for(fresh_database, kafka_bootstrap, creds).model_copy(
        update={"feed_keep_hours": 2, "retention_interval_s": 0.2}
    )
    app = build(settings, partners=registry, clock=lambda: NOW)
    async with running_app(app):
        conn = await asyncpg.connect(fresh_database)
        try:
            for label, hours in {"old": 3, "fresh": 1}.items():
                await conn.execute(
                    "INSERT INTO notify.feed_items (payload, at) VALUES ($1, $2)",
                    label,
                    NOW - timedelta(hours=hours),
                )

            async def remaining() -> list[str] | None:
                rows = await conn.fetch("SELECT payload FROM notify.feed_items")
                left = [r["payload"] for r in rows]
                return left if "old" not in left else None

            assert await eventually(remaining, what="the 3-hour-old feed item deleted") == ["fresh"]
        finally:
            await conn.close()
