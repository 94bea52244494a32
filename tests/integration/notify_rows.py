"""Notify's schema straight from its store, for tests of its queries on a real PostgreSQL: a
webhook subscription with what a claim needs and nothing a test does not ask for."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg

import services.notify
from services.notify import store
from services.notify.domain import Filters

MIGRATIONS = Path(services.notify.__file__).parent / "migrations"


async def webhook_subscription(
    conn: asyncpg.Connection,
    *,
    types: tuple[str, ...] = ("nl.wijkaanpak.routing.assigned",),
    max_in_flight: int = 8,
    batch: int | None = None,
) -> uuid.UUID:
    """A new active webhook subscription (batched by up to `batch` events, sent at once)."""
    sub = uuid.uuid4()
    new = store.NewSubscription(
        id=sub,
        owner_partner_id=None,
        channel="webhook",
        callback_url="https://example.nl/hook",
        email_address=None,
        authorization_enc=b"a",
        signing_secret_enc=b"s",
        types=list(types),
        filters=Filters(None, None, None),
        max_in_flight=max_in_flight,
        batch_max_events=batch,
        batch_max_wait_ms=None if batch is None else 0,
    )
    async with conn.transaction():
        await store.insert_subscription(conn, new)
    return sub
