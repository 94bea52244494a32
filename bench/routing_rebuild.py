"""Routing's projection rebuild: replay N accepted signals from `signals.accepted` into an empty
schema, beside the raw aiokafka consume rate of the same topic in the same run.

The routing service runs as its own process (`python -m services.routing`, the demo rules with
their thresholds and min_recent rule), so its peak memory (VmHWM, and getrusage of the waited
child) is the service's alone. Both rates are timed from the first record handled to the last,
so consumer-group joins are left out of both.
"""

from __future__ import annotations

import asyncio
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench import pg_ceiling
from contracts import topics
from contracts.envelope import new_event, to_json_bytes
from contracts.events import SIGNAL_ACCEPTED_TYPE, SignalAccepted
from services.routing import replay as routing_replay
from tools.devstack import DEMO_PARTNERS, DEMO_RULES, DemoCredentials, write_partner_registry
from wijkbus.gc_policy import collect_less
from wijkbus.infra import Backend, free_port

CATEGORIES = ["overlast"] * 5 + ["vernieling"] * 2 + ["vervuiling"] * 2 + ["zorg", "ondermijning"]
SUBCATEGORIES = [None, "geluid", "stank", "graffiti"]
STREETS = 5_000
CHUNK = 5_000
DEMO_PARTNER_IDS = [p["id"] for p in DEMO_PARTNERS]


def accepted_signals(count: int, now: datetime, seed: int = 11) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) of `count` signals.accepted records as intake publishes them."""
    rng = random.Random(seed)
    for n in range(count):
        street = rng.randrange(STREETS)
        observed = now - timedelta(seconds=rng.randrange(120 * 86_400))
        signal = SignalAccepted(
            signal_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            partner_id="woonstichting-noord",
            event_source="urn:nld:kvknr:12345678:systeem:huurbeheer",
            event_id=f"HB-{n}",
            categorie=rng.choice(CATEGORIES),  # type: ignore[arg-type]
            subcategory=rng.choice(SUBCATEGORIES),
            severity=rng.choice(["laag", "normaal", "normaal", "hoog"]),  # type: ignore[arg-type]
            observed_at=observed,
            received_at=observed + timedelta(minutes=rng.randrange(600)),
            street_key=f"naam:groningen:benchstraat-{street}",
            street=f"Benchstraat {street}",
            city="Groningen",
            buurt_code=f"BU001401{street % 40:02d}",
            openbareruimte_id=None,
        )
        event = new_event(
            SIGNAL_ACCEPTED_TYPE,
            "urn:nld:wijkbus:intake",
            signal,
            id=signal.signal_id,
            subject=signal.signal_id,
        )
        yield signal.street_key.encode(), to_json_bytes(event)


async def fill(bootstrap: str, count: int, now: datetime) -> None:
    """Publish `count` accepted signals, a chunk at a time so memory stays flat."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=False,
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    try:
        pending = []
        for key, value in accepted_signals(count, now):
            pending.append(await producer.send(topics.SIGNALS_ACCEPTED, value, key=key))
            if len(pending) >= CHUNK:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def raw_consume(bootstrap: str, count: int) -> float:
    """Records per second for plain aiokafka reading the same topic from offset 0."""
    consumer = AIOKafkaConsumer(
        topics.SIGNALS_ACCEPTED,
        bootstrap_servers=bootstrap,
        group_id=f"bench-raw-{time.time_ns()}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    try:
        done, started = 0, 0.0
        while done < count:
            batch = await consumer.getmany(timeout_ms=500, max_records=5_000)
            for records in batch.values():
                started = started or time.perf_counter()
                done += len(records)
            if batch:
                await consumer.commit()
        return count / (time.perf_counter() - started)
    finally:
        await consumer.stop()


def _vm_hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


async def routing_rebuild(
    backend: Backend, count: int, workdir: Path
) -> tuple[float, int, int, str, int]:
    """Records per second of routing rebuilding its projection, its VmHWM and child maxrss, the
    database it rebuilt into, and how many signals it assigned."""
    database = backend.create_database(f"bench_routing_{time.time_ns()}")
    creds = DemoCredentials.load_or_create(workdir / "secrets.json")
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "KAFKA_BOOTSTRAP_SERVERS": backend.bootstrap,
        "WIJKBUS_PARTNERS": str(write_partner_registry(workdir / "partners.yaml", creds)),
        "WIJKBUS_OPERATOR_TOKEN": creds.operator_token,
        "WIJKBUS_LOG_FORMAT": "json",
        "ROUTING_RULES": str(DEMO_RULES),
        "ROUTING_PORT": str(free_port()),
    }
    log = (workdir / "routing.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.routing", env=env, stdout=log, stderr=log
    )
    try:
        conn = await _connect(database)
        try:
            await _wait_until_assigned(conn, count, process)
            # All it assigned: the topic may also hold what earlier benchmarks of this run
            # (intake's) published.
            assigned, first, last = await conn.fetchrow(
                "SELECT count(*), min(assigned_at), max(assigned_at) FROM routing.assignments"
            )
        finally:
            await conn.close()
        hwm = _vm_hwm_kib(process.pid)
    finally:
        process.terminate()
        await process.wait()
        log.close()
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return assigned / (last - first).total_seconds(), hwm, children, database, assigned


async def cli_replay(backend: Backend, database: str, count: int) -> tuple[float, int]:
    """Records per second of `wijkbus replay routing` (its rebuild step) into a scratch schema
    beside the live one the service just built; and how many records it read."""
    collect_less()  # as `wijkbus replay` does
    started = time.perf_counter()
    done = await routing_replay.rebuild(
        database, backend.bootstrap, "routing_replay_bench", partners=tuple(DEMO_PARTNER_IDS)
    )
    # The topic may hold more than `count` records: the fill's producer (no idempotence, as on
    # Tansu) resends a batch it timed out on, and the replay's inbox skips those copies; and
    # earlier benchmarks of the same run (intake's) published accepted signals of their own.
    signals = done.handled_by.get("signals", 0)
    if signals < count or done.refused:
        raise RuntimeError(f"the replay handled {signals} of {count}: {done.refused[:3]}")
    return done.read / (time.perf_counter() - started), done.read


async def _connect(database: str) -> asyncpg.Connection:
    return await asyncpg.connect(database)


async def _wait_until_assigned(
    conn: asyncpg.Connection, count: int, process: asyncio.subprocess.Process, stall_s: float = 120
) -> None:
    """Wait until routing assigned `count` signals; fail loudly when progress stops."""
    done, last_change = -1, time.monotonic()
    while done < count:
        if process.returncode is not None:
            raise RuntimeError(f"routing exited with {process.returncode}")
        try:
            now_done = await conn.fetchval("SELECT count(*) FROM routing.assignments")
        except asyncpg.UndefinedTableError:
            now_done = 0  # not migrated yet
        if now_done != done:
            done, last_change = now_done, time.monotonic()
        elif time.monotonic() - last_change > stall_s:
            reasons = await conn.fetch("SELECT DISTINCT reason FROM routing.dead_letters LIMIT 5")
            raise RuntimeError(f"routing stalled at {done}/{count}: {[r[0] for r in reasons]}")
        await asyncio.sleep(1.0)


async def main(backend: Backend, quick: bool) -> list[str]:
    """The printable result of this benchmark."""
    count = int(os.environ.get("BENCH_ROUTING_N", 20_000 if quick else 1_000_000))
    started = time.perf_counter()
    await fill(backend.bootstrap, count, datetime.now(UTC))
    filled_s = time.perf_counter() - started
    raw = await raw_consume(backend.bootstrap, count)
    with tempfile.TemporaryDirectory() as tmp:
        rate, hwm_kib, child_kib, database, assigned = await routing_rebuild(
            backend, count, Path(tmp)
        )
    # Per signal it assigned: the topic may hold more than `count` (intake's bench's too).
    ceiling = await pg_ceiling.rows_rewritten(database, "routing", assigned)
    replayed, handled = await cli_replay(backend, database, count)
    own_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return [
        f"routing projection rebuild, {count} signals.accepted from offset 0 into an empty schema"
        f" (topic filled in {filled_s:.0f} s)",
        f"  raw aiokafka consume      : {raw:10.0f} records/s",
        f"  routing rebuild           : {rate:10.0f} records/s",
        f"  ratio                     : {rate / raw:10.3f}",
        ceiling.line("the rebuild", rate),
        f"  wijkbus replay routing    : {replayed:10.0f} records/s (rebuild into a scratch schema,"
        f" {handled} records read, each signal handled once; ratio {replayed / raw:.3f})",
        f"  routing peak RSS          : {hwm_kib / 1024:10.0f} MiB (VmHWM of the service process;"
        f" getrusage children max {child_kib / 1024:.0f} MiB)",
        f"  bench process peak RSS    : {own_kib / 1024:10.0f} MiB",
    ]
