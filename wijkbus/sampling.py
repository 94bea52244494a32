"""Gauges computed when Prometheus scrapes: a few aggregate queries, never a per-event cost.

Each service adds samplers of its own (routing: open and late assignments per partner); the kit
samples the outbox's lag and every consumer group's lag. A sampler that fails or takes too long
leaves its gauges as they were and is logged; the scrape still answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import asyncpg
from aiokafka import AIOKafkaConsumer

from wijkbus import metrics
from wijkbus.consumer import ConsumerKit
from wijkbus.logging import get_logger
from wijkbus.readiness import group_lag

log = get_logger(__name__)
Sampler = Callable[[], Awaitable[None]]
TIMEOUT_S = 2.0

_OLDEST_WAITING = (
    "SELECT coalesce(extract(epoch FROM now() - min(o.created_at)), 0) FROM outbox_position p"
    " LEFT JOIN LATERAL (SELECT created_at FROM outbox WHERE id > p.published_id"
    " ORDER BY id LIMIT 1) o ON true"
)


async def sample(samplers: Sequence[Sampler]) -> None:
    """Run every sampler at once, each within TIMEOUT_S."""
    await asyncio.gather(*(_guarded(s) for s in samplers))


async def _guarded(sampler: Sampler) -> None:
    try:
        async with asyncio.timeout(TIMEOUT_S):
            await sampler()
    except Exception as exc:
        name = getattr(sampler, "__name__", "?")
        log.warning("metric sampling failed", sampler=name, error=repr(exc))


def outbox_lag(pool: Callable[[], asyncpg.Pool], service: str) -> Sampler:
    """How long the oldest row of the service's log has waited to be published."""

    async def outbox_lag() -> None:
        waited = await pool().fetchval(_OLDEST_WAITING)
        metrics.OUTBOX_LAG.labels(service).set(float(waited or 0))

    return outbox_lag


def consumer_lags(kit: ConsumerKit) -> Sampler:
    """Every consumer group's lag over its topics' partitions."""

    async def consumer_lags() -> None:
        for name, sub in kit.subscribers.items():
            consumer: AIOKafkaConsumer | None = getattr(sub, "consumer", None)
            if consumer is not None:
                lag, _ = await group_lag(consumer)
                metrics.CONSUMER_LAG.labels(kit.service, name, str(sub.group_id)).set(lag)

    return consumer_lags
