"""Readiness that means "processing", and the watchdog that restarts a consumer whose loop died.

A service is ready when its database and broker answer, every consumer group has partitions (a
grace period after start; topics that do not exist yet need none) and moves while it has lag,
and its outbox relay publishes what waits. Each check answers "ok" or the reason it is not.

aiokafka runs a consumer's fetching and its group membership in background tasks; when one of
them ends on an unexpected error the consumer object stays, `getmany` just returns nothing (a
dead fetcher) or raises the same error every time (a dead coordinator), and faststream's loop
waits and retries forever. Only a new consumer recovers: the watchdog restarts the subscriber,
which re-joins its group and goes on from the committed offsets (the inbox skips what was done).
The two tasks are private attributes of aiokafka (0.14, pinned in constraints.txt).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from wijkbus.consumer import ConsumerKit
from wijkbus.logging import get_logger
from wijkbus.relay import OutboxRelay

log = get_logger(__name__)
OK = "ok"
_TIMEOUT_S = 2.0


def dead_tasks(consumer: AIOKafkaConsumer) -> list[str]:
    """The consumer's background tasks that have ended: "fetch loop", "group coordinator"."""
    tasks = {
        "fetch loop": getattr(getattr(consumer, "_fetcher", None), "_fetch_task", None),
        "group coordinator": getattr(
            getattr(consumer, "_coordinator", None), "_coordination_task", None
        ),
    }
    return [name for name, task in tasks.items() if task is not None and task.done()]


async def group_lag(consumer: AIOKafkaConsumer) -> tuple[int, int]:
    """The group's lag over every partition of the consumer's topics (not only its own), and
    the sum of its committed offsets (which moves when any member of the group handles a batch)."""
    partitions = [
        TopicPartition(topic, p)
        for topic in consumer.subscription()
        for p in consumer.partitions_for_topic(topic) or ()
    ]
    if not partitions:
        return 0, 0
    ends = await consumer.end_offsets(partitions)
    starts = await consumer.beginning_offsets(partitions)
    done = {tp: max(await consumer.committed(tp) or 0, starts[tp]) for tp in partitions}
    return sum(max(ends[tp] - done[tp], 0) for tp in partitions), sum(done.values())


async def consumer_check(kit: ConsumerKit, name: str, *, started: float, stall_s: float) -> str:
    """Whether consumer `name` runs, and its group moves while it has lag (for `stall_s`)."""
    sub = kit.subscribers.get(name)
    consumer: AIOKafkaConsumer | None = getattr(sub, "consumer", None)
    if consumer is None:
        return "not running"
    if dead := dead_tasks(consumer):
        return f"{' and '.join(dead)} stopped"
    async with asyncio.timeout(_TIMEOUT_S):
        lag, committed = await group_lag(consumer)
    now = time.monotonic()
    if lag == 0 or kit.committed.get(name) != committed:
        kit.committed[name] = committed
        kit.progress[name] = now
        return OK
    idle = now - max(kit.progress.get(name, started), started)
    if idle > stall_s:
        here = len(consumer.assignment())
        return f"stalled: lag {lag}, no offset committed for {idle:.0f}s ({here} partitions here)"
    return OK


async def relay_check(pool: asyncpg.Pool, relay: OutboxRelay | None, stall_s: float) -> str:
    """Whether the log's relay runs and publishes rows that wait (by any instance, the leader)."""
    if relay is None or not relay.running:
        return "not running"
    async with asyncio.timeout(_TIMEOUT_S):
        row = await pool.fetchrow(
            "SELECT now() - greatest(o.created_at, p.published_at) AS waited, p.published_at"
            " FROM outbox_position p, LATERAL (SELECT created_at FROM outbox"
            " WHERE id > p.published_id ORDER BY id LIMIT 1) o"
        )
    if row is None or row["waited"].total_seconds() <= stall_s:
        return OK
    waited = row["waited"].total_seconds()
    return f"stuck: rows wait for {waited:.0f}s, last published at {row['published_at']:%H:%M:%S}"


async def checked(name: str, check: Awaitable[str]) -> tuple[str, str]:
    """`(name, result)` of an awaitable check; a failure is its reason."""
    try:
        return name, await check
    except Exception as exc:
        return name, f"failed: {type(exc).__name__}"


async def restart_stuck_consumers(kit: ConsumerKit, *, started: float, stall_s: float) -> list[str]:
    """Restart every subscriber whose consumer has a dead task or whose group stalled; their
    names. A restarted consumer gets `stall_s` to move before it may be restarted again."""
    restarted = []
    for name, sub in kit.subscribers.items():
        if getattr(sub, "consumer", None) is None:
            continue
        state = await checked(name, consumer_check(kit, name, started=started, stall_s=stall_s))
        if not state[1].startswith(("stalled", "fetch loop", "group coordinator")):
            continue
        log.error("consumer stuck, restarting it", consumer=name, reason=state[1])
        await sub.stop()
        await sub.start()
        kit.progress[name] = time.monotonic()
        restarted.append(name)
    return restarted
