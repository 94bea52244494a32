"""The parts every service runs: pool, migrations, broker with its consumers, outbox relay."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker

from contracts import published, topics
from wijkbus import asyncapi, consumer, db, metrics, ratelimit, readiness, sampling
from wijkbus.log_retention import receipts_retention
from wijkbus.periodic import Periodic
from wijkbus.processor import Processor
from wijkbus.producing import start_producer
from wijkbus.relay import OutboxRelay
from wijkbus.republish import republish_lost
from wijkbus.settings import ServiceSettings
from wijkbus.transport_security import broker_security


class ServiceRuntime:
    """Owns a service's connections; built in the composition root, started by the app lifespan."""

    def __init__(
        self,
        settings: ServiceSettings,
        migrations: Path,
        *,
        before_consume: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings
        self.migrations = migrations
        self._before_consume = before_consume
        # A short metadata age lets pattern subscriptions see new topics within seconds.
        self.broker = KafkaBroker(
            settings.kafka_bootstrap_servers,
            logger=None,
            metadata_max_age_ms=settings.metadata_max_age_ms,
            security=broker_security(settings.kafka_security),
        )
        self.consumers = consumer.ConsumerKit(
            service=settings.service_name,
            pool=lambda: self.pool,
            max_attempts=settings.max_attempts,
            backoff_s=settings.retry_backoff_s,
            session_timeout_ms=settings.consumer_session_timeout_ms,
            max_batch=settings.consumer_max_batch,
            fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
            group_prefix=settings.group_prefix,
        )
        self._pool: asyncpg.Pool | None = None
        self.producer: AIOKafkaProducer | None = None
        self.relay: OutboxRelay | None = None
        self.receipts_retention: Periodic | None = None
        self.watchdog = Periodic(
            "consumer-watchdog",
            lambda: readiness.restart_stuck_consumers(
                self.consumers, started=self._started, stall_s=settings.consumer_stall_s
            ),
            settings.consumer_watchdog_interval_s,
        )
        # Buckets of callers who stopped calling: one row per guessed code would otherwise stay.
        self.rate_sweep = Periodic("rate-buckets", lambda: ratelimit.sweep(self.pool), 60.0)
        self._started = time.monotonic()
        self.samplers: list[sampling.Sampler] = [
            sampling.outbox_lag(lambda: self.pool, settings.service_name),
            sampling.consumer_lags(self.consumers),
        ]
        self.document_publisher(
            topics.dead_letters(settings.service_name),
            bytes,
            "Records this service gave up on: the value as received (partner input: only its"
            " size and sha256), headers wijkbus-consumer, wijkbus-origin, wijkbus-reason.",
        )

    @property
    def pool(self) -> asyncpg.Pool:
        """The service's asyncpg pool (after start)."""
        if self._pool is None:
            raise RuntimeError("the service runtime is not started")
        return self._pool

    def subscribe(self, *processors: Processor[Any]) -> None:
        """Feed each processor from a consumer group of its own, exactly once in effect."""
        for proc in processors:
            consumer.subscribe(self.broker, self.consumers, proc)
            metrics.consumer_started(self.settings.service_name, proc.name)

    async def sample_metrics(self) -> None:
        """Bring the gauges sampled at scrape up to date (nothing before the service started)."""
        if self._pool is not None:
            await sampling.sample(self.samplers)

    def document_publisher(self, topic: str, schema: Any, description: str) -> None:
        """Describe a topic this service publishes (through its outbox) in its AsyncAPI document."""
        self.broker.publisher(
            topic,
            title=f"{self.settings.service_name} -> {topic}",
            schema=schema,
            description=description,
        )

    def document_events(self, topic: str, what: str, also: published.Types | None = None) -> None:
        """Describe a topic this service publishes with its types and their data models from
        contracts, and `also` types of its own (`what`: what the topic carries and its key)."""
        types = {**published.types_of(topic), **(also or {})}
        self.document_publisher(topic, published.payload_of(types), published.describe(types, what))

    async def start(self) -> None:
        """Migrate, connect, run the `before_consume` hook, republish what a new broker lacks,
        start the relay and the log's retention, then the consumers."""
        s = self.settings
        await db.migrate_url(s.database_url, s.db_schema, self.migrations)
        self._pool = await db.create_pool(s.database_url, s.db_schema, max_size=s.pool_max_size)
        if self._before_consume is not None:
            # E.g. record the rule set in force before the first message is handled by it.
            async with self._pool.acquire() as conn, conn.transaction():
                await self._before_consume(conn)
        self.producer = await start_producer(
            s.kafka_bootstrap_servers,
            idempotence=s.kafka_idempotence,
            request_timeout_ms=s.kafka_request_timeout_ms,
            security=s.kafka_security,
        )
        if s.republish_lost_topics:
            await republish_lost(
                self._pool,
                self.producer,
                s.kafka_bootstrap_servers,
                s.db_schema,
                security=s.kafka_security,
            )
        self.relay = OutboxRelay(
            self._pool,
            self.producer,
            schema=s.db_schema,
            poll_interval_s=s.relay_poll_interval_s,
            batch_size=s.relay_batch_size,
        )
        self.relay.start()
        self.receipts_retention = receipts_retention(
            self._pool,
            s.db_schema,
            s.receipts_retention_days,
            s.receipts_retention_interval_s,
            lambda: datetime.now(UTC),
        )
        self.receipts_retention.start()
        self.rate_sweep.start()
        await self.broker.start()
        self._started = time.monotonic()
        self.watchdog.start()

    async def stop(self) -> None:
        """Stop consuming first, then publishing, then the pool."""
        await self.watchdog.stop()
        await self.rate_sweep.stop()
        await self.broker.stop()
        if self.receipts_retention:
            await self.receipts_retention.stop()
        if self.relay:
            await self.relay.stop()
        if self.producer:
            await self.producer.stop()
        if self._pool:
            await self._pool.close()

    async def readiness(self) -> dict[str, str]:
        """Whether the service processes: database and broker answer, every consumer has
        partitions and moves while it lags, the relay publishes; "ok" or the reason, per check."""
        s = self.settings
        relay = readiness.relay_check(self.pool, self.relay, s.relay_stall_s)
        checks = [
            readiness.checked("database", self._ping_database()),
            readiness.checked("broker", self._ping_broker()),
            readiness.checked("relay", relay),
        ]
        checks += [
            readiness.checked(
                f"consumer:{name}",
                readiness.consumer_check(
                    self.consumers,
                    name,
                    started=self._started,
                    stall_s=s.consumer_stall_s,
                ),
            )
            for name in self.consumers.subscribers
        ]
        return dict(await asyncio.gather(*checks))

    async def _ping_database(self) -> str:
        async with asyncio.timeout(2):
            await self.pool.fetchval("SELECT 1")
        return readiness.OK

    async def _ping_broker(self) -> str:
        assert self.producer is not None
        async with asyncio.timeout(2):
            await self.producer.client.fetch_all_metadata()
        return readiness.OK

    def asyncapi(self, title: str, description: str) -> dict[str, Any]:
        """The AsyncAPI document of this service's consumers and publishers."""
        return asyncapi.document(self.broker, title, description)
