"""Intake end to end over Kafka (partner topic in, stored, `signals.accepted` out) vs raw.

The ceiling is plain aiokafka on the same broker in the same run: consume the same number of
records from one topic and re-produce them to another, no work, offsets committed as it goes.
Both are timed from the first record consumed to the last record acknowledged by the broker,
so consumer-group joins are left out of both.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench import pg_ceiling
from contracts import topics
from services.intake.app import IntakeSettings, build
from tools.simulate import demo_partner_registry, realistic_signals
from wijkbus.gc_policy import collecting_less
from wijkbus.infra import Backend, free_port
from wijkbus.partners import PartnerRegistry, sign
from wijkbus.serve import serving

PARTNER = "woonstichting-noord"


@dataclass(frozen=True)
class Result:
    """Records per second for intake and for the raw ceiling."""

    count: int
    intake_per_s: float
    raw_per_s: float
    pg: pg_ceiling.Ceiling  # PostgreSQL re-inserting the rows intake wrote

    @property
    def ratio(self) -> float:
        """Intake's rate as a fraction of the raw ceiling."""
        return self.intake_per_s / self.raw_per_s


async def _fill(bootstrap: str, topic: str, values: list[bytes], headers: list) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=False,
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    try:
        futures = [
            await producer.send(topic, v, headers=h) for v, h in zip(values, headers, strict=True)
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def raw_pass_through(bootstrap: str, values: list[bytes]) -> float:
    """Consume `len(values)` records and re-produce each; records per second."""
    source, sink = f"bench.raw.{time.time_ns()}", f"bench.raw-out.{time.time_ns()}"
    await _fill(bootstrap, source, values, [[] for _ in values])
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id=f"g-{source}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, linger_ms=2)
    await consumer.start()
    await producer.start()
    try:
        done, started, pending = 0, 0.0, []
        while done < len(values):
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                started = started or time.perf_counter()
                pending += [await producer.send(sink, r.value, key=r.key) for r in records]
                done += len(records)
            if batch:
                await consumer.commit()
        await asyncio.gather(*pending)
        return len(values) / (time.perf_counter() - started)
    finally:
        await consumer.stop()
        await producer.stop()


async def intake_end_to_end(
    backend: Backend, registry: PartnerRegistry, values: list[bytes]
) -> tuple[float, str]:
    """Records per second from the partner topic to `signals.accepted` published, and the
    database intake wrote into."""
    database = backend.create_database(f"bench_{time.time_ns()}")
    secret = registry.signing_secret(PARTNER)
    await _fill(
        backend.bootstrap,
        topics.partner_events(PARTNER),
        values,
        [[("wijkbus-signature", sign(secret, v).encode())] for v in values],
    )
    settings = IntakeSettings(
        database_url=database, kafka_bootstrap_servers=backend.bootstrap, log_format="json"
    )
    async with serving(build(settings, partners=registry), free_port()):
        conn = await asyncpg.connect(database)
        try:
            await _wait_until_published(conn, len(values))
            first, last = await conn.fetchrow(
                "SELECT (SELECT min(received_at) FROM intake.signals),"
                " (SELECT published_at FROM intake.outbox_position)"
            )
        finally:
            await conn.close()
    return len(values) / (last - first).total_seconds(), database


async def _wait_until_published(conn: asyncpg.Connection, count: int, stall_s: float = 60) -> None:
    """Wait until `count` signals were published; fail loudly when progress stops."""
    done, last_change = -1, time.monotonic()
    while done < count:
        now_done = await conn.fetchval(
            "SELECT count(*) FROM intake.outbox WHERE topic = $1"
            " AND id <= (SELECT published_id FROM intake.outbox_position)",
            topics.SIGNALS_ACCEPTED,
        )
        if now_done != done:
            done, last_change = now_done, time.monotonic()
        elif time.monotonic() - last_change > stall_s:
            reasons = await conn.fetch("SELECT DISTINCT reason FROM intake.dead_letters LIMIT 5")
            raise RuntimeError(
                f"intake stalled at {done}/{count}; dead letters: {[r['reason'] for r in reasons]}"
            )
        await asyncio.sleep(0.5)


async def run(backend: Backend, count: int) -> Result:
    """Run both measurements on `backend` with `count` records each."""
    registry, _ = demo_partner_registry()
    partner = registry.get(PARTNER)
    assert partner is not None
    values = list(realistic_signals(partner.source, count, seed=7))
    with collecting_less():  # as `python -m services.intake` runs; the ceiling likewise
        raw = await raw_pass_through(backend.bootstrap, values)
        intake, database = await intake_end_to_end(backend, registry, values)
    return Result(count, intake, raw, await pg_ceiling.rows_rewritten(database, "intake", count))


async def main(backend: Backend, quick: bool) -> list[str]:
    """The printable result of this benchmark."""
    result = await run(backend, 2_000 if quick else 20_000)
    return [
        f"intake over Kafka, {result.count} signals (partner topic -> stored -> signals.accepted)",
        f"  raw aiokafka pass-through : {result.raw_per_s:10.0f} records/s",
        f"  intake end to end         : {result.intake_per_s:10.0f} records/s",
        f"  ratio                     : {result.ratio:10.3f}",
        result.pg.line("intake", result.intake_per_s),
    ]
