"""Partner signal to webhook, with intake, routing and notify as separate processes.

A partner publishes signed signals on `partners.<id>.events` at a fixed rate (1,000/s for
60 s; `--quick`: 100/s for 5 s; NOTIFY_BENCH_SECONDS and NOTIFY_BENCH_RATE change them); a
webhook receiver process notes when each `routing.assigned` arrives. Three modes in turn, each
with subscriptions of its own: one subscriber (single deliveries, notify's defaults), one
batched subscriber, and 50 subscribers with street filters. Printed per mode: partner -> webhook
p50/p99/max, the sustained deliveries/s, each stage's rate and latency, each service's CPU per
signal (the fan-out cost), PostgreSQL's and the whole machine's; first, bare POST loops from
this process to the same receiver: the ceilings. Then notify draining a backlog put on
routing.events at once (bench.notify_drain), to one batched subscriber and, as information, to
one single one. NOTIFY_BENCH_MODES picks modes by name (comma-separated: single, batched,
filtered, drain-batched, drain-single; default all).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

from bench import cpu
from bench.notify_drain import drain
from bench.notify_stack import SERVICES, Stack, sleep_until, start, stop
from contracts import topics
from contracts.events import ROUTING_ASSIGNED_TYPE
from contracts.signals import Location, street_key
from services.notify import domain
from services.notify.batches import BATCH_CONTENT_TYPE
from services.notify.crypto import sign
from tools.simulate import STREETS, realistic_signals
from wijkbus.infra import Backend

PARTNER = "woonstichting-noord"
SOURCE = "urn:nld:kvknr:12345678:systeem:huurbeheer"
BATCH = {"max_events": 100, "max_wait_ms": 50}
STAGES = ("partner -> intake", "intake -> routing", "routing -> notify", "notify -> webhook")


SINGLE = {"types": [ROUTING_ASSIGNED_TYPE]}
BATCHED = {"types": [ROUTING_ASSIGNED_TYPE], "batch": BATCH}
# NOTIFY_BENCH_MODES: which to run, comma-separated (default all, in this order).
MODES = ("single", "batched", "filtered", "drain-batched", "drain-single")


def _modes() -> list[tuple[str, str, list[dict[str, Any]]]]:
    keys = [
        street_key(Location(street=s, house_number="1", city="Groningen", buurt_code=b))
        for s, b in STREETS
    ]
    return [
        ("single", "one subscriber, single deliveries", [SINGLE]),
        ("batched", "one subscriber, batched", [BATCHED]),
        (
            "filtered",
            "50 subscribers, each filtered on a street",
            [
                {"types": [ROUTING_ASSIGNED_TYPE], "filters": {"street_key": keys[n % len(keys)]}}
                for n in range(50)
            ],
        ),
    ]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _publish(
    secret: bytes, bootstrap: str, values: list[bytes], rate: float
) -> tuple[list[float], float]:
    """Send signed signals at `rate` per second; when each was sent, and the rate achieved."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, linger_ms=1)
    await producer.start()
    try:
        futures, sent, started = [], [], time.perf_counter()
        for n, value in enumerate(values):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            headers = [("wijkbus-signature", sign(secret, value).encode())]
            sent.append(time.time())
            futures.append(
                await producer.send(topics.partner_events(PARTNER), value, headers=headers)
            )
        elapsed = time.perf_counter() - started
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return sent, len(values) / elapsed if elapsed > 0 else float("inf")


async def _bare(url: str, count: int) -> tuple[list[str], dict[str, float]]:
    """The ceilings: POSTs from a bare httpx loop to the same receiver (keep-alive); the lines
    and the events/s of 8 single POSTs and of 8 batches in flight."""
    body = json.dumps(
        {"specversion": "1.0", "id": "x", "source": "bench", "type": "bench.bare", "data": {}}
    ).encode()
    batch = b"[" + b",".join([body] * BATCH["max_events"]) + b"]"

    async def loop(client: httpx.AsyncClient, n: int, content: bytes, kind: str) -> None:
        for _ in range(n):
            sent = await client.post(url, content=content, headers={"Content-Type": kind})
            sent.raise_for_status()

    async def rate(workers: int, n: int, content: bytes, kind: str) -> float:
        async with httpx.AsyncClient(timeout=10) as client:
            started = time.perf_counter()
            await asyncio.gather(
                *(loop(client, n // workers, content, kind) for _ in range(workers))
            )
            return n // workers * workers / (time.perf_counter() - started)

    single = "application/cloudevents+json"
    one = await rate(1, count, body, single)
    eight = await rate(8, count, body, single)
    batches = await rate(8, max(count // 20, 8), batch, BATCH_CONTENT_TYPE)
    return [
        "bare httpx POST loop to the same receiver (the ceilings)",
        f"  one at a time             : {one:10.0f} POSTs/s",
        f"  8 in flight               : {eight:10.0f} POSTs/s",
        f"  batches of {BATCH['max_events']}, 8 in flight : {batches * BATCH['max_events']:10.0f}"
        f" events/s ({batches:.0f} POSTs/s)",
    ], {"single": eight, "batched": batches * BATCH["max_events"]}


_HEARD = (
    "SELECT count(*) FROM notify.inbox WHERE consumer = 'events'"
    " AND message_id LIKE 'urn:nld:wijkbus:routing|assigned-%'"
)


async def _settled(
    conn: asyncpg.Connection, stack: Stack, before: tuple[int, int], count: int
) -> Any:
    """(done, progress): every signal routed and its assignment heard by notify, nothing pending
    in notify. Nothing pending alone is no end: the last assignments may still be on their way
    through routing's relay and the topic while every delivery queued so far was sent."""
    routed = await conn.fetchval("SELECT count(*) FROM routing.assignments") - before[0]
    heard = await conn.fetchval(_HEARD) - before[1]
    pending = await conn.fetchval("SELECT count(*) FROM notify.deliveries WHERE status='pending'")
    _, got = await stack.counts()
    return routed >= count and heard >= count and pending == 0, (routed, heard, pending, got)


async def _marks(conn: asyncpg.Connection) -> tuple[int, int]:
    """The assignments routing made and notify heard so far."""
    return await conn.fetchval("SELECT count(*) FROM routing.assignments"), await conn.fetchval(
        _HEARD
    )


async def _mode(
    stack: Stack, backend: Backend, database: str, name: str, subs: list[dict[str, Any]],
    rate: int, secs: int, seed: int,
) -> list[str]:  # fmt: skip
    await stack.subscribe(subs)
    secret = stack.creds.signing_secrets[PARTNER].encode()
    count = rate * secs
    values = list(realistic_signals(SOURCE, count + 1, seed=seed))
    conn = await asyncpg.connect(database)
    try:
        # One warm-up signal through all three services: every consumer group has joined.
        marks = await _marks(conn)
        await _publish(secret, backend.bootstrap, values[:1], rate)
        await sleep_until(lambda: _settled(conn, stack, marks, 1), stall_s=120)
        requests_before, mark = await stack.counts()
        marks, cpu_before = await _marks(conn), stack.cpu_s()
        pg_before, machine_before = await cpu.postgres_seconds(database), cpu.machine_busy_seconds()
        ids = [json.loads(v)["id"] for v in values[1:]]
        times, achieved = await _publish(secret, backend.bootstrap, values[1:], rate)
        await sleep_until(lambda: _settled(conn, stack, marks, count), stall_s=60)
        used = {k: v - cpu_before[k] for k, v in stack.cpu_s().items()}
        pg = await cpu.postgres_seconds(database) - pg_before
        machine = cpu.machine_busy_seconds() - machine_before
        requests, arrived = await stack.arrivals(mark)
        rows = await _moments(conn, ids)
        answered = await _answer_times(conn, stack.subscriptions)
    finally:
        await conn.close()
    sends = dict(zip(ids, times, strict=True))
    sent_at = times[0]
    by_signal = {r["signal_id"]: r["event_id"] for r in rows}
    lat = [at - sends[by_signal[sid]] for at, sid in arrived if sid in by_signal]
    span = max(at for at, _ in arrived) - sent_at if arrived else 0.0
    lines = [
        f"notify latency, {name}: {count} signals asked at {rate}/s for {secs} s",
        f"  publish rate sustained    : {achieved:10.0f} signals/s",
        f"  deliveries received       : {len(lat):10d} in {requests - requests_before} POSTs"
        f" ({len(lat) / span if span else 0:.0f}/s sustained end to end)",
    ]
    if lat:
        lines.append(
            "  partner -> webhook        : p50 {:.0f} ms, p99 {:.0f} ms, max {:.0f} ms".format(
                *(x * 1000 for x in (_pct(lat, 0.5), _pct(lat, 0.99), max(lat)))
            )
        )
    lines += _stage_lines(rows, sends, arrived)
    lines.append(answered)
    per = ", ".join(f"{s} {used[s] / count * 1000:.2f}" for s in SERVICES)
    lines.append(f"  CPU per signal (ms)       : {per}; {len(lat) / count:.1f} deliveries/signal")
    cores = os.cpu_count() or 1
    lines.append(
        f"                              PostgreSQL {pg / count * 1000:.2f}, the whole machine"
        f" {machine / count * 1000:.2f} (of {cores} cores: at most"
        f" {cores / (machine / count):.0f} signals/s if it were all theirs)"
    )
    if len(subs) > 1:
        lines.append(_matching_cost(subs, rows))
    return lines


def _matching_cost(subs: list[dict[str, Any]], rows: list[dict[str, Any]]) -> str:
    """The fan-out's matching of an event against these subscriptions, timed in this process
    (notify's domain.Matcher, as its fan-out runs it once per consumed batch)."""
    matcher = domain.Matcher(
        [
            domain.Subscription(
                id=str(n), types=tuple(b["types"]), filters=domain.Filters(**b.get("filters", {}))
            )
            for n, b in enumerate(subs)
        ]
    )
    keys = [street_key(Location(street=s, city="Groningen", buurt_code=b)) for s, b in STREETS]
    data = [
        {"partner_id": "politie-noord", "street_key": k, "buurt_code": "BU00140107"} for k in keys
    ]
    started, n = time.perf_counter(), max(len(rows), 1000)
    for i in range(n):
        matcher.wanting(ROUTING_ASSIGNED_TYPE, data[i % len(data)])
    took = (time.perf_counter() - started) / n
    return f"  fan-out matching per event: {took * 1e6:10.1f} µs ({len(subs)} subscriptions)"


async def _answer_times(conn: asyncpg.Connection, subscriptions: list[str]) -> str:
    """How long the receiver took to answer notify's POSTs (notify's own attempt log)."""
    row = await conn.fetchrow(
        "SELECT count(*) AS n, percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50,"
        " percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms) AS p99"
        " FROM notify.delivery_attempts WHERE subscription_id = ANY($1::uuid[])",
        subscriptions,
    )
    return (
        f"    {'POST answered in':<20}: {row['n']:6d} attempts"
        f"  {row['p50'] or 0:8.0f} / {row['p99'] or 0:8.0f} ms"
    )


async def _moments(conn: asyncpg.Connection, ids: list[str]) -> list[dict[str, Any]]:
    """Per signal of this run, in publish order: when intake, routing and notify handled it
    (notify: its first delivery queued; an assignment's subject is its signal)."""
    intake = await conn.fetch(
        "SELECT event_id, signal_id::text, extract(epoch FROM received_at)::float8 AS at"
        " FROM intake.signals WHERE event_id = ANY($1)",
        ids,
    )
    routed = await conn.fetch(
        "SELECT signal_id, extract(epoch FROM min(assigned_at))::float8 AS at"
        " FROM routing.assignments GROUP BY signal_id"
    )
    queued = await conn.fetch(
        "SELECT subject, extract(epoch FROM min(created_at))::float8 AS at"
        " FROM notify.deliveries WHERE event_type = $1 GROUP BY subject",
        ROUTING_ASSIGNED_TYPE,
    )
    by_event = {r["event_id"]: r for r in intake}
    routing = {r["signal_id"]: r["at"] for r in routed}
    notify = {r["subject"]: r["at"] for r in queued}
    return [
        {
            "event_id": e,
            "signal_id": by_event[e]["signal_id"],
            "intake": by_event[e]["at"],
            "routing": routing.get(by_event[e]["signal_id"]),
            "notify": notify.get(by_event[e]["signal_id"]),
        }
        for e in ids
        if e in by_event
    ]


def _stage_lines(
    rows: list[dict[str, Any]], sends: dict[str, float], arrived: list[tuple[float, str]]
) -> list[str]:
    """Where the time goes: each stage's signals, rate and latency p50 / p99."""
    first: dict[str, float] = {}
    for at, sid in arrived:
        first.setdefault(sid, at)
    moments = [
        {r["event_id"]: float(r["intake"]) for r in rows},
        {r["event_id"]: float(r["routing"]) for r in rows if r["routing"] is not None},
        {r["event_id"]: float(r["notify"]) for r in rows if r["notify"] is not None},
        {r["event_id"]: first[r["signal_id"]] for r in rows if r["signal_id"] in first},
    ]
    start = min(sends.values()) if sends else 0.0
    lines = ["  where the time goes (per stage: signals through, their rate, latency p50 / p99)"]
    before = sends
    for name, after in zip(STAGES, moments, strict=True):
        lags = [after[e] - before[e] for e in after if e in before]
        if lags:
            rate = len(after) / (max(after.values()) - start)
            lines.append(
                f"    {name:<20}: {len(after):6d} {rate:7.0f}/s"
                f"  {_pct(lags, 0.5) * 1000:8.0f} / {_pct(lags, 0.99) * 1000:8.0f} ms"
            )
        before = after
    return lines


async def main(backend: Backend, quick: bool) -> list[str]:
    """The printable result of this benchmark."""
    rate, secs = (100, 5) if quick else (1000, 60)
    secs = int(os.environ.get("NOTIFY_BENCH_SECONDS", secs))
    rate = int(os.environ.get("NOTIFY_BENCH_RATE", rate))
    backlog = int(os.environ.get("NOTIFY_BENCH_BACKLOG", 2000 if quick else 50_000))
    chosen = os.environ.get("NOTIFY_BENCH_MODES", ",".join(MODES)).split(",")
    unknown = set(chosen) - set(MODES)
    if unknown:
        raise SystemExit(f"NOTIFY_BENCH_MODES: unknown {sorted(unknown)}; known {MODES}")
    database = backend.create_database(f"bench_notify_{time.time_ns()}")
    with tempfile.TemporaryDirectory() as tmp:
        stack = await asyncio.to_thread(start, backend, database, Path(tmp), rate)
        try:
            lines, ceilings = await _bare(stack.receiver_url, 500 if quick else 5000)
            for n, (key, name, subs) in enumerate(_modes()):
                if key in chosen:
                    lines += await _mode(stack, backend, database, name, subs, rate, secs, 11 + n)
            # Single deliveries drain a tenth of the backlog: as information, in less time.
            for key, sub, size in (
                ("drain-batched", BATCHED, backlog),
                ("drain-single", SINGLE, max(backlog // 10, 1)),
            ):
                if key in chosen:
                    kind = key.removeprefix("drain-")
                    name = f"one subscriber, {kind}"
                    lines += await drain(stack, database, name, sub, size, ceilings[kind])
        finally:
            stop(stack)
            if os.environ.get("NOTIFY_BENCH_LOGS"):  # the services' logs, kept for a look
                shutil.copytree(Path(tmp) / "logs", os.environ["NOTIFY_BENCH_LOGS"])
    return lines
