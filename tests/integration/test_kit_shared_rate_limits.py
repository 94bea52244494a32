"""Rate limits are one limit over all replicas: the buckets live in PostgreSQL, keyed on the caller
(a partner's id; a resident's code and forwarded address behind a trusted proxy)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from secrets import randbelow

import asyncpg
import httpx
import pytest

from services.intake.app import IntakeSettings
from services.intake.app import build as build_intake
from tests.integration.test_budget_support import Buurt, running_buurts
from tests.support import demo_registry, running_app, signal_event, unique
from tools.devstack import DEMO_PARTNERS
from wijkbus import db
from wijkbus.ratelimit import SharedBuckets, spend_each, sweep, waits

CORP = "woonstichting-noord"
SOURCE = {p["id"]: p["source"] for p in DEMO_PARTNERS}
BATCH = {"Content-Type": "application/cloudevents-batch+json"}


@asynccontextmanager
async def two_pools(database_url: str, tmp_path: Path) -> AsyncIterator[list[asyncpg.Pool]]:
    """Two replicas' pools on one service schema with the kit's migrations."""
    await db.migrate_url(database_url, "limits", tmp_path)
    pools = [await db.create_pool(database_url, "limits", max_size=5) for _ in range(2)]
    try:
        yield pools
    finally:
        for pool in pools:
            await pool.close()


async def test_two_replicas_draw_from_one_bucket(fresh_database: str, tmp_path: Path) -> None:
    now = [1_000.0]
    async with two_pools(fresh_database, tmp_path) as (a, b):
        first = SharedBuckets("partner-events", 1.0, 10, clock=lambda: now[0])
        second = SharedBuckets("partner-events", 1.0, 10, clock=lambda: now[0])
        assert await first.take(a, "p1", 7) == 0
        assert await second.take(b, "p1", 4) == pytest.approx(1.0)  # 3 left; one second short
        assert await second.take(b, "p1", 3) == 0
        assert await first.take(a, "p2", 10) == 0  # another partner has a bucket of its own
        now[0] += 2
        assert await first.take(a, "p1", 2) == 0  # refilled at the rate, on either replica
        assert await second.take(b, "p1", 1) == pytest.approx(1.0)
        assert await first.take(a, "p1", 11) == float("inf")  # more than a burst: never


async def test_concurrent_takes_on_two_replicas_never_exceed_the_burst(
    fresh_database: str, tmp_path: Path
) -> None:
    async with two_pools(fresh_database, tmp_path) as pools:
        replicas = [SharedBuckets("partner-events", 0.001, 60) for _ in pools]
        waits = await asyncio.gather(
            *(
                r.take(pool, "p1")
                for r, pool in zip(replicas, pools, strict=True)
                for _ in range(50)
            )
        )
        assert sum(1 for w in waits if w == 0) == 60


async def test_buckets_keep_no_caller_in_clear(fresh_database: str, tmp_path: Path) -> None:
    async with two_pools(fresh_database, tmp_path) as (pool, _):
        await SharedBuckets("client-code-failures", 1.0, 5).spend(pool, "203.0.113.77")
        names = [r["bucket"] for r in await pool.fetch("SELECT bucket FROM rate_buckets")]
        assert len(names) == 1 and "203.0.113" not in names[0]


async def test_full_buckets_are_swept_and_the_rest_kept(
    fresh_database: str, tmp_path: Path
) -> None:
    async with two_pools(fresh_database, tmp_path) as (pool, _):
        await SharedBuckets("code-failures", 1000.0, 5).spend(pool, "done-soon")
        await SharedBuckets("code-failures", 0.001, 5).spend(pool, "waits-long")
        await asyncio.sleep(0.05)
        assert await sweep(pool) == 1
        assert await pool.fetchval("SELECT count(*) FROM rate_buckets") == 1


@asynccontextmanager
async def intakes(
    database_url: str, bootstrap: str, n: int
) -> AsyncIterator[list[httpx.AsyncClient]]:
    """`n` intake instances on one database, as replicas behind one Service."""
    registry, creds = demo_registry()
    auth = {"Authorization": f"Bearer {creds.api_keys[CORP]}"}
    group = unique("intake")
    async with AsyncExitStack() as stack:
        clients = []
        for _ in range(n):
            settings = IntakeSettings(
                database_url=database_url,
                kafka_bootstrap_servers=bootstrap,
                rate_per_s=0.01,
                rate_burst=5,
                group_prefix=group,
            )
            url = await stack.enter_async_context(
                running_app(build_intake(settings, partners=registry))
            )
            clients.append(
                await stack.enter_async_context(
                    httpx.AsyncClient(base_url=url, headers=auth, timeout=30)
                )
            )
        yield clients


async def test_a_partner_has_one_rate_over_two_intake_instances(
    fresh_database: str, kafka_bootstrap: str
) -> None:
    async def send(http: httpx.AsyncClient, events: int) -> int:
        body = json.dumps([signal_event(SOURCE[CORP]) for _ in range(events)]).encode()
        return (await http.post("/api/v1/events", content=body, headers=BATCH)).status_code

    async with intakes(fresh_database, kafka_bootstrap, 2) as (a, b):
        assert await send(a, 3) == 202
        assert await send(b, 3) == 429  # two left of the burst, on whichever instance
        assert await send(b, 2) == 202
        assert await send(a, 1) == 429


async def support_from(b: Buurt, code: str, initiative: str, client: str) -> int:
    """A resident's support as the proxy forwards it for `client`."""
    answer = await b.http.post(
        "/api/v1/supports",
        json={"code": code, "initiative_id": initiative},
        # What the client claimed comes first; the proxy appends the peer it saw.
        # Whatever the client claimed comes first (a new address each time, to get around the
        # limit); the proxy appends the peer it saw.
        headers={"X-Forwarded-For": f"10.66.{randbelow(256)}.{randbelow(256)}, {client}"},
    )
    return answer.status_code


async def test_code_attempts_are_limited_per_forwarded_client_and_per_code_over_two_instances(
    fresh_database: str, kafka_bootstrap: str
) -> None:
    async with running_buurts(
        fresh_database,
        kafka_bootstrap,
        instances=2,
        code_failures_burst=3,
        code_failures_per_minute=1,
        trusted_proxies="127.0.0.1/32",  # the proxy in front: the test's client
    ) as (a, b):
        bankje = await a.propose(100_000)
        guesser, neighbour = "203.0.113.10", "198.51.100.20"
        tries = [
            await support_from(x, f"nonsense-{i}", bankje, guesser)
            for i, x in enumerate([a, b, a, b])
        ]
        assert tries == [403, 403, 403, 403]  # the fourth mistake empties the shared bucket
        assert await support_from(a, "nonsense-5", bankje, guesser) == 429
        assert await support_from(b, a.codes[2], bankje, guesser) == 429  # even the right code
        assert await support_from(b, a.codes[2], bankje, neighbour) == 201  # another resident

        # One code tried from ever new addresses: the code's own bucket runs dry.
        used = [await support_from(x, a.codes[2], bankje, f"192.0.2.{i}") for i, x in
                enumerate([a, b, a, b])]  # fmt: skip
        assert used == [409, 409, 409, 409]
        assert await support_from(a, a.codes[2], bankje, "192.0.2.99") == 429
        assert await support_from(b, a.codes[3], bankje, "192.0.2.99") == 201


async def test_a_batch_of_waits_reads_what_a_take_of_nothing_would_answer_and_writes_nothing(
    fresh_database: str, tmp_path: Path
) -> None:
    now = [1_000.0]
    async with two_pools(fresh_database, tmp_path) as (pool, _):
        buckets = SharedBuckets("client-code-failures", 1.0, 3, clock=lambda: now[0])
        other = SharedBuckets("code-failures", 1.0, 1, clock=lambda: now[0])
        await spend_each(pool, [(buckets, k) for k in "aaaab"] + [(other, "a")])  # a: four
        assert await waits(pool, [(buckets, "a"), (buckets, "b"), (buckets, "c"), (other, "a")]
                           ) == pytest.approx([1.0, 0, 0, 0])  # fmt: skip
        assert await buckets.wait(pool, "a") == pytest.approx(await buckets.take(pool, "a", 0))
        now[0] += 1
        assert await waits(pool, [(buckets, "a"), (buckets, "c")]) == [0, 0]
        assert await pool.fetchval("SELECT count(*) FROM rate_buckets") == 3  # none for "c"
