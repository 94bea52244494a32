"""Partner signal to webhook: latency through intake, routing and notify; notify's delivery rate.

1. Latency: a partner publishes signed signals on `partners.<id>.events` at a fixed rate; intake,
   routing and notify run in-process on the same broker and database; a local webhook receiver
   (subscribed to every `routing.assigned`) notes when each signal's assignment arrives. Reported:
   the rate actually sustained, p50/p99 from publish to receipt.
2. Saturation: a full queue of deliveries for one subscription drained by notify (in order, one at
   a time, each recorded in PostgreSQL) beside a bare httpx POST loop, also one at a time, to the
   same receiver in the same run.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

from contracts import topics
from contracts.envelope import new_event, to_json_bytes
from contracts.events import ROUTING_ASSIGNED_TYPE, ResponderAssigned
from services.intake.app import IntakeSettings
from services.intake.app import build as build_intake
from services.notify import store
from services.notify.app import NotifySettings
from services.notify.app import build as build_notify
from services.notify.crypto import sign
from services.routing.app import RoutingSettings
from services.routing.app import build as build_routing
from tools.devstack import LOOPBACK_CIDRS
from tools.simulate import demo_partner_registry, realistic_signals
from wijkbus.infra import Backend, free_port
from wijkbus.serve import serving

PARTNER = "woonstichting-noord"
RULES = Path(__file__).resolve().parent.parent / "deploy" / "demo" / "routing-rules.yaml"
Scope = dict[str, Any]


@dataclass
class Receiver:
    """A bare ASGI webhook receiver: answers 204 and notes when each body arrived."""

    hits: list[tuple[float, bytes]] = field(default_factory=list)
    assignments: list[tuple[float, str]] = field(default_factory=list)
    _read: int = 0

    def count_assignments(self) -> int:
        """Assignments received so far (arrival, signal id), parsing only the hits not yet read.

        The bench polls this often, in the event loop the services share: parsing every hit
        again on each poll would slow the services down more the more has arrived.
        """
        for at, body in self.hits[self._read :]:
            event = json.loads(body)
            if event["type"] == ROUTING_ASSIGNED_TYPE:
                self.assignments.append((at, event["data"]["signal_id"]))
        self._read = len(self.hits)
        return len(self.assignments)

    async def __call__(
        self, scope: Scope, receive: Callable[[], Awaitable[Scope]], send: Any
    ) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                kind = message["type"].removeprefix("lifespan.")
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        self.hits.append((time.perf_counter(), body))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _wait(check: Callable[[], int], target: int, stall_s: float = 60.0) -> int:
    """Wait until check() reaches `target` or stops moving for `stall_s`; the last value."""
    last, moved = -1, time.monotonic()
    while (now := check()) < target:
        if now != last:
            last, moved = now, time.monotonic()
        elif time.monotonic() - moved > stall_s:
            return now
        await asyncio.sleep(0.05)
    return now


async def _publish(
    bootstrap: str, secret: bytes, values: list[bytes], rate: float
) -> tuple[dict[str, float], float]:
    """Send signed signals at `rate` per second; send time per event id, and the rate achieved."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, linger_ms=1)
    await producer.start()
    sent: dict[str, float] = {}
    try:
        futures = []
        started = time.perf_counter()
        for n, value in enumerate(values):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent[json.loads(value)["id"]] = time.perf_counter()
            headers = [("wijkbus-signature", sign(secret, value).encode())]
            futures.append(
                await producer.send(topics.partner_events(PARTNER), value, headers=headers)
            )
        elapsed = time.perf_counter() - started
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return sent, len(values) / elapsed if elapsed > 0 else float("inf")


async def _latency(
    backend: Backend,
    database: str,
    receiver_url: str,
    receiver: Receiver,
    rate: int,
    secs: int,
    queued: int,
) -> list[str]:
    """Both measurements, with intake, routing and notify running (idle for the second)."""
    registry, creds = demo_partner_registry()
    common = {"database_url": database, "kafka_bootstrap_servers": backend.bootstrap}
    notify_settings = NotifySettings(
        **common,
        operator_token=creds.operator_token,
        secret_key=creds.notify_secret_key,
        delivery_poll_interval_s=0.2,
        allow_cidrs=LOOPBACK_CIDRS,  # the bench's receiver listens on 127.0.0.1
    )
    apps = [
        build_intake(IntakeSettings(**common, rate_per_s=10 * rate), partners=registry),
        build_routing(RoutingSettings(**common, rules_file=RULES), partners=registry),
        build_notify(notify_settings, partners=registry),
    ]
    partner = registry.get(PARTNER)
    assert partner is not None
    secret = registry.signing_secret(PARTNER)
    count = rate * secs
    values = list(realistic_signals(partner.source, count + 1, seed=11))
    async with (
        serving(apps[0], free_port()),
        serving(apps[1], free_port()),
        serving(apps[2], free_port()) as notify_url,
    ):
        async with httpx.AsyncClient(base_url=notify_url, timeout=30) as http:
            created = await http.post(
                "/api/v1/subscriptions",
                json={
                    "channel": "webhook",
                    "callback_url": receiver_url,
                    "authorization": "Bearer bench",
                    "types": [ROUTING_ASSIGNED_TYPE],
                },
                headers={"Authorization": f"Bearer {creds.operator_token}"},
            )
            created.raise_for_status()
        # One warm-up signal through all three services: every consumer group has joined.
        await _publish(backend.bootstrap, secret, values[:1], rate)
        await _wait(receiver.count_assignments, 1, stall_s=120)
        mark = receiver.count_assignments()
        sent, achieved = await _publish(backend.bootstrap, secret, values[1:], rate)
        got = await _wait(lambda: receiver.count_assignments() - mark, count)
        arrived = receiver.assignments[mark:]
        stage_lines, rows = await _stages(database, sent, {sid: at for at, sid in arrived})
        saturation = await _saturation(database, receiver_url, receiver, queued)
    by_signal = {r["signal_id"]: r["event_id"] for r in rows}
    latencies = [at - sent[by_signal[sid]] for at, sid in arrived if by_signal.get(sid) in sent]
    span = arrived[-1][0] - sent[min(sent, key=sent.__getitem__)] if arrived else 0.0
    lines = [
        f"notify latency: partner signal -> intake -> routing -> notify -> webhook, "
        f"{count} signals asked at {rate}/s for {secs} s",
        f"  publish rate sustained    : {achieved:10.0f} signals/s",
        f"  assignments received      : {got:10d} of {count}"
        f" ({got / span if span else 0:.0f}/s end to end)",
    ]
    if latencies:
        lines += [
            f"  latency p50               : {_percentile(latencies, 0.50) * 1000:10.0f} ms",
            f"  latency p99               : {_percentile(latencies, 0.99) * 1000:10.0f} ms",
        ]
    return lines + stage_lines + saturation


STAGES = ("partner -> intake", "intake -> routing", "routing -> notify", "notify -> webhook")


async def _stages(
    database: str, sent: dict[str, float], received: dict[str, float]
) -> tuple[list[str], list[asyncpg.Record]]:
    """Where the time goes: each stage's own latency and throughput, from the stored timestamps.

    A stage's moment is when its service handled the signal: intake's `received_at`, routing's
    `assigned_at`, notify's delivery `created_at`, and the webhook's receipt; all on this host's
    clock (perf_counter readings are turned into epoch seconds).
    """
    offset = time.time() - time.perf_counter()
    conn = await asyncpg.connect(database)
    try:
        rows = await conn.fetch(
            "SELECT signal_id::text, event_id, extract(epoch FROM received_at)::float8 AS at"
            " FROM intake.signals"
        )
        routed = await conn.fetch(
            "SELECT signal_id, extract(epoch FROM assigned_at)::float8 AS at"
            " FROM routing.assignments"
        )
        queued = await conn.fetch(
            "SELECT convert_from(body, 'UTF8')::jsonb -> 'data' ->> 'signal_id' AS signal_id,"
            " extract(epoch FROM created_at)::float8 AS at FROM notify.deliveries"
            " WHERE event_type = $1",
            ROUTING_ASSIGNED_TYPE,
        )
    finally:
        await conn.close()
    by_signal = {r["signal_id"]: r["event_id"] for r in rows}
    moments: list[dict[str, float]] = [
        {by_signal[r["signal_id"]]: r["at"] for r in rows},
        {by_signal[r["signal_id"]]: r["at"] for r in routed if r["signal_id"] in by_signal},
        {by_signal[r["signal_id"]]: r["at"] for r in queued if r["signal_id"] in by_signal},
        {by_signal[sid]: at + offset for sid, at in received.items() if sid in by_signal},
    ]
    before = {event_id: at + offset for event_id, at in sent.items()}
    lines = ["  where the time goes (per stage: signals through, their rate, latency p50 / p99)"]
    for name, after in zip(STAGES, moments, strict=True):
        lags = [after[e] - before[e] for e in after if e in before and e in sent]
        done = [after[e] for e in after if e in sent]
        rate = len(done) / (max(done) - min(before[e] for e in sent)) if done else 0.0
        if lags:
            lines.append(
                f"    {name:<20}: {len(done):6d} {rate:7.0f}/s"
                f"  {_percentile(lags, 0.5) * 1000:8.0f} / {_percentile(lags, 0.99) * 1000:8.0f} ms"
            )
        before = after
    return lines, rows


def _bodies(count: int) -> list[bytes]:
    now = datetime.now(UTC)
    return [
        to_json_bytes(
            new_event(
                ROUTING_ASSIGNED_TYPE,
                "urn:nld:wijkbus:bench",
                ResponderAssigned(
                    signal_id=f"bench-{n}",
                    partner_id=PARTNER,
                    categorie="overlast",
                    street_key="naam:groningen:asingastraat",
                    buurt_code="BU00140107",
                    rule_id="bench",
                    ruleset_version="bench",
                    acknowledge_by=None,
                    assigned_at=now,
                ),
            )
        )
        for n in range(count)
    ]


async def _saturation(
    database: str, receiver_url: str, receiver: Receiver, count: int
) -> list[str]:
    """Drain `count` queued deliveries through notify vs the same POSTs from a bare loop."""
    conn = await asyncpg.connect(database, server_settings={"search_path": "notify"})
    try:
        sub_id = await conn.fetchval(
            "SELECT id FROM subscriptions WHERE callback_url = $1", receiver_url
        )
        mark = len(receiver.hits)
        started = time.perf_counter()
        async with conn.transaction():
            for body in _bodies(count):
                event = json.loads(body)
                await store.add_deliveries(
                    conn,
                    [str(sub_id)],
                    source=event["source"],
                    event_id=event["id"],
                    event_type=event["type"],
                    body=body,
                    at=datetime.now(UTC),
                )
        # the inserts are committed: notify is woken and drains the queue
        got = await _wait(lambda: len(receiver.hits) - mark, count)
        notify_rate = got / (receiver.hits[-1][0] - started)
    finally:
        await conn.close()
    bodies = _bodies(count)
    async with httpx.AsyncClient(timeout=10) as client:
        started = time.perf_counter()
        for body in bodies:
            response = await client.post(
                receiver_url,
                content=body,
                headers={
                    "Content-Type": "application/cloudevents+json",
                    "Authorization": "Bearer bench",
                    "wijkbus-signature": sign(b"bench-secret", body),
                },
            )
            response.raise_for_status()
        bare_rate = count / (time.perf_counter() - started)
    return [
        f"notify deliveries at saturation, {count} queued for one subscription (in order)",
        f"  bare httpx POST loop      : {bare_rate:10.0f} POSTs/s",
        f"  notify delivery worker    : {notify_rate:10.0f} deliveries/s ({got} delivered)",
        f"  ratio                     : {notify_rate / bare_rate:10.3f}",
    ]


async def main(backend: Backend, quick: bool) -> list[str]:
    """The printable result of this benchmark."""
    rate, secs, queued = (100, 5, 500) if quick else (1000, 60, 5000)
    # A shorter full-rate run where the machine cannot drain a minute at 1,000/s in good time.
    secs = int(os.environ.get("NOTIFY_BENCH_SECONDS", secs))
    receiver = Receiver()
    database = backend.create_database(f"bench_notify_{time.time_ns()}")
    async with serving(receiver, free_port()) as url:  # type: ignore[arg-type]
        return await _latency(backend, database, f"{url}/hook", receiver, rate, secs, queued)
