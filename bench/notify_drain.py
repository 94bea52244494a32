"""Notify draining a backlog: a burst of `routing.assigned` events in front of one subscriber.

A republish after a broker loss or a replay puts many events on `routing.events` at once. The
bench publishes the backlog there as fast as the producer goes (NOTIFY_BENCH_BACKLOG, 50,000;
`--quick`: 2,000) and times notify, a separate process, until the receiver has every event:
its fan-out, claims, signing, POSTs and records, with no upstream stage to wait for.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from bench import cpu
from bench.notify_stack import Stack, sleep_until
from contracts import topics
from contracts.envelope import new_event, to_json_bytes
from contracts.events import ROUTING_ASSIGNED_TYPE, ResponderAssigned
from contracts.signals import Location, street_key
from tools.simulate import STREETS

ROUTING_SOURCE = "urn:nld:wijkbus:routing"  # as routing publishes them (services.routing)


def backlog(count: int) -> list[tuple[bytes, bytes]]:
    """`count` routing.assigned events of new signals, as (key, value) the way routing keys
    them: by signal."""
    now = datetime.now(UTC)
    out = []
    for n in range(count):
        street, buurt = STREETS[n % len(STREETS)]
        signal_id = str(uuid.uuid4())
        data = ResponderAssigned(
            signal_id=signal_id,
            partner_id="politie-noord",
            categorie="overlast",
            street_key=street_key(Location(street=street, city="Groningen", buurt_code=buurt)),
            buurt_code=buurt,
            rule_id="bench",
            ruleset_version="bench",
            acknowledge_by=None,
            assigned_at=now,
        )
        event = new_event(
            ROUTING_ASSIGNED_TYPE, ROUTING_SOURCE, data, id=f"assigned-{signal_id}",
            subject=signal_id, time=now,
        )  # fmt: skip
        out.append((signal_id.encode(), to_json_bytes(event)))
    return out


async def _publish(bootstrap: str, records: list[tuple[bytes, bytes]]) -> float:
    """Put the backlog on routing.events as fast as it goes; the seconds it took."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=False, linger_ms=5, max_batch_size=1 << 20
    )
    await producer.start()
    try:
        started = time.perf_counter()
        futures = [
            await producer.send(topics.ROUTING_EVENTS, value, key=key) for key, value in records
        ]
        for future in futures:
            await future
        return time.perf_counter() - started
    finally:
        await producer.stop()


async def _queued(database: str, started: float, times: list[float]) -> list[str]:
    """When notify's fan-out queued the backlog, beside when it arrived (s after the publish)."""
    conn = await asyncpg.connect(database)
    try:
        first, last = await conn.fetchrow(
            "SELECT extract(epoch FROM min(d.created_at))::float8, extract(epoch FROM"
            " max(d.created_at))::float8 FROM notify.deliveries d JOIN notify.subscriptions s"
            " ON s.id = d.subscription_id WHERE s.status = 'active'"
        )
    finally:
        await conn.close()
    return [
        f"  queued by the fan-out     : {first - started:6.2f} .. {last - started:6.2f} s;"
        f" received {times[0] - started:.2f} .. {times[-1] - started:.2f} s"
    ]


async def _missing(database: str, got: int, count: int) -> list[str]:
    """Where the events that did not arrive are: heard by notify at all, queued, leased."""
    if got >= count:
        return []
    conn = await asyncpg.connect(database)
    try:
        heard = await conn.fetchval(
            "SELECT count(*) FROM notify.inbox WHERE message_id LIKE $1", f"{ROUTING_SOURCE}|%"
        )
        states = await conn.fetch(
            "SELECT status, lease_until > now() AS leased, batch_id IS NOT NULL AS batched,"
            " count(*) AS n FROM notify.deliveries GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        )
    finally:
        await conn.close()
    shown = ", ".join(
        f"{r['status']}{' leased' if r['leased'] else ''}{' batched' if r['batched'] else ''}"
        f" {r['n']}"
        for r in states
    )
    return [f"  NOT ARRIVED: {count - got}; notify heard {heard} of routing; deliveries: {shown}"]


async def drain(
    stack: Stack,
    database: str,
    name: str,
    subscription: dict[str, Any],
    count: int,
    ceiling: float | None,
) -> list[str]:
    """Subscribe, publish the backlog and wait until the receiver has all of it."""
    await stack.subscribe([subscription])
    records = backlog(count)
    _, mark = await stack.counts()
    requests_before, cpu_before = (await stack.counts())[0], stack.cpu_s()["notify"]
    pg_before = await cpu.postgres_seconds(database)
    started = time.time()
    publish_s = await _publish(stack.procs.bootstrap, records)

    async def arrived() -> tuple[bool, int]:
        got = (await stack.counts())[1] - mark
        return got >= count, got

    await sleep_until(arrived, stall_s=60, poll_s=0.25)
    notify_s = stack.cpu_s()["notify"] - cpu_before
    pg = await cpu.postgres_seconds(database) - pg_before
    requests, arrivals = await stack.arrivals(mark)
    times = sorted(at for at, _ in arrivals)
    if not times:
        return [f"notify draining a backlog, {name}: nothing arrived"]
    total = times[-1] - started
    # Sustained: the middle 80 % of the arrivals, past the start-up and the last batch's wait.
    low, high = times[len(times) // 10], times[len(times) * 9 // 10]
    middle = (len(times) * 9 // 10 - len(times) // 10) / (high - low) if high > low else 0.0
    lines = [
        f"notify draining a backlog, {name}: {count} routing.assigned events",
        f"  backlog published in      : {publish_s:10.2f} s",
        f"  events received           : {len(times):10d} of {count} in"
        f" {requests - requests_before} POSTs, the last {total:.2f} s after the first publish",
        f"  sustained (middle 80 %)   : {middle:10.0f} events/s;"
        f" overall {len(times) / total:.0f}/s",
        f"  CPU per event             : notify {notify_s / count * 1000:.3f} ms,"
        f" PostgreSQL {pg / count * 1000:.3f} ms (all of its processes; 2 cores shared)",
    ]
    lines += await _queued(database, started, times)
    lines += await _missing(database, len(times), count)
    if ceiling:
        lines.append(f"  of the same run's ceiling : {middle / ceiling:10.1%} ({ceiling:.0f}/s)")
    return lines
