"""Two routing instances handling one street at the same moment, held there on purpose.

After a rebalance the partition's new owner may read records the old owner is still handling:
the new owner's inbox claim waits for the old owner's transaction and then skips what it did, so
the street's counts and crossings are what one instance gives. A street whose signals are on two
partitions (a producer that does not key by street, a topic given more partitions) is handled by
two transactions at once; the one that commits second must not announce a crossing the first
already announced. Each case is held open at the decisive point (the first transaction waits on
an event; the second is seen waiting on its lock in pg_stat_activity), so no timing is guessed.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from contracts import topics
from contracts.envelope import CloudEvent, to_json_bytes
from services.routing.handlers import Routing
from services.routing.processors import processors
from services.routing.rule_parsing import parse_rules
from tests.integration.test_routing_batches import MIGRATIONS, PARTNERS, RULES, TABLES, accepted
from tests.integration.test_routing_flow import Clock
from tests.support import eventually
from wijkbus import db, processor
from wijkbus.consumer import ConsumerKit
from wijkbus.processor import Delivery, Processor

# Rows that differ between two correct runs: generated ids (sequences are not rolled back when a
# transaction is retried) and the order of a retried batch's rows.
HOOGTE, OOSTER = "naam:groningen:hoogtestraat", "naam:groningen:oosterstraat"
COMPARED = {t: k for t, k in TABLES.items() if t not in ("threshold_crossings", "outbox")}


@pytest.fixture
async def database(fresh_database: str) -> AsyncIterator[tuple[str, asyncpg.Connection]]:
    """A database with a routing schema for two instances at once and one for a single one."""
    for schema in ("overlapped", "single"):
        await db.migrate_url(fresh_database, schema, MIGRATIONS)
    conn = await asyncpg.connect(fresh_database)
    try:
        yield fresh_database, conn
    finally:
        await conn.close()


def records(events: list[CloudEvent], partition: int, first: int = 0) -> list[Delivery]:
    """The events as consecutive records of one partition of signals.accepted."""
    return [
        Delivery(topics.SIGNALS_ACCEPTED, partition, first + n, b"k", to_json_bytes(e))
        for n, e in enumerate(events)
    ]


def instance(pool: asyncpg.Pool) -> tuple[Processor[Any], ConsumerKit]:
    """One routing instance's signals processor, and the live policy (without backoff)."""
    kit = ConsumerKit(service="routing", pool=lambda: pool, backoff_s=0)
    return processors(Routing(parse_rules(RULES, PARTNERS), Clock()))[0], kit


def held(proc: Processor[Any]) -> tuple[Processor[Any], asyncio.Event, asyncio.Event]:
    """`proc` whose transaction stays open after its handler ran, until `release` is set."""
    handled, release = asyncio.Event(), asyncio.Event()

    async def handle(conn: asyncpg.Connection, events: list[Any]) -> None:
        await proc.handle(conn, events)
        handled.set()
        await release.wait()

    return dataclasses.replace(proc, handle=handle), handled, release


async def waiting_on_a_lock(conn: asyncpg.Connection) -> bool:
    """True once another session of this database waits for a lock."""
    return bool(
        await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'"
        )
    )


async def overlapped(
    url: str, conn: asyncpg.Connection, first: list[Delivery], second: list[Delivery]
) -> None:
    """Instance a handles `first` and holds its transaction open; instance b handles `second`
    meanwhile until it waits on a's locks; then a commits and b finishes."""
    async with await db.create_pool(url, "overlapped", max_size=4) as pool:
        (a, kit_a), (b, kit_b) = instance(pool), instance(pool)
        a, handled, release = held(a)
        first_done = asyncio.create_task(processor.process(pool, a, first, kit_a))
        await handled.wait()
        second_done = asyncio.create_task(processor.process(pool, b, second, kit_b))
        await eventually(lambda: waiting_on_a_lock(conn), what="instance b waiting on a's locks")
        release.set()
        assert await first_done and await second_done


async def single(url: str, *shares: list[Delivery]) -> None:
    """One instance handles the shares one after the other."""
    async with await db.create_pool(url, "single", max_size=2) as pool:
        proc, kit = instance(pool)
        for share in shares:
            assert await processor.process(pool, proc, share, kit)


async def contents(conn: asyncpg.Connection, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row routing wrote in `schema` that two correct runs share, in a fixed order."""
    found = {}
    for table, order in COMPARED.items():
        rows = await conn.fetch(f"SELECT * FROM {schema}.{table} ORDER BY {order}")
        found[table] = [tuple(r) for r in rows]
    crossings = await conn.fetch(
        f"SELECT street_key, threshold_id, counts::text FROM {schema}.threshold_crossings"
        " ORDER BY street_key, threshold_id, counts::text"
    )
    found["threshold_crossings"] = [tuple(r) for r in crossings]
    outbox = await conn.fetch(f"SELECT topic, key, value FROM {schema}.outbox ORDER BY value")
    found["outbox"] = [tuple(r) for r in outbox]
    return found


async def test_a_new_owner_waits_for_the_old_owners_batch_and_skips_it(
    database: tuple[str, asyncpg.Connection],
) -> None:
    url, conn = database
    street = [accepted("Hoogtestraat", "overlast", d) for d in (5, 4, 3, 2)]
    later = [accepted("Hoogtestraat", "vernieling", 1), accepted("Hoogtestraat", "overlast", 0)]
    # The old owner has the first four records in flight; the new owner, starting from the
    # committed offset, reads them too and two more.
    await overlapped(url, conn, records(street, 0), records(street + later, 0))
    await single(url, records(street, 0), records(later, 0, first=4))

    two = await contents(conn, "overlapped")
    assert two == await contents(conn, "single")
    assert len(two["street_incidents"]) == 6
    assert [c[:2] for c in two["threshold_crossings"]] == [
        ("naam:groningen:hoogtestraat", "wijkhub")
    ]


async def test_a_street_on_two_partitions_at_once_crosses_a_threshold_once(
    database: tuple[str, asyncpg.Connection],
) -> None:
    url, conn = database
    # Each batch alone crosses the wijkhub threshold (3 in 30 days) of a street no alert row
    # exists for yet; together they cross it once.
    overlast = [accepted("Oosterstraat", "overlast", d) for d in (6, 5, 4)]
    vernieling = [accepted("Oosterstraat", "vernieling", d) for d in (3, 2, 1)]
    await overlapped(url, conn, records(overlast, 0), records(vernieling, 1))
    await single(url, records(overlast, 0), records(vernieling, 1))

    two = await contents(conn, "overlapped")
    assert two == await contents(conn, "single")
    assert [c[:2] for c in two["threshold_crossings"]] == [
        ("naam:groningen:oosterstraat", "wijkhub")
    ]
    assert [a[:4] for a in two["street_alerts"]] == [
        ("naam:groningen:oosterstraat", "wijkhub", True, 1)
    ]
