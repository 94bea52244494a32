"""Test helpers: run a service app in-process on a free port, wait for conditions, Kafka I/O."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from fastapi import FastAPI

from tools.simulate import demo_partner_registry as demo_registry  # noqa: F401
from wijkbus.infra import free_port
from wijkbus.logging import configure_logging
from wijkbus.replaying import end_offsets
from wijkbus.serve import serving


@asynccontextmanager
async def running_app(app: FastAPI) -> AsyncIterator[str]:
    """Serve `app` (lifespan included) on a free loopback port; yield its base URL."""
    async with serving(app, free_port()) as url:
        yield url


async def eventually(
    check: Callable[[], Awaitable[Any]],
    *,
    timeout: float = 60.0,
    interval: float = 0.2,
    what: str = "condition",
) -> Any:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


def unique(prefix: str = "t") -> str:
    """A random id, so tests never depend on each other."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def groups_at_end(bootstrap: str, service: str, consumers: dict[str, list[str]]) -> str:
    """A group prefix of a test's own whose groups begin where the topics end now.

    The broker is shared by the session: a new consumer group would otherwise read every record
    earlier tests left on the same topics. Committing the current end offsets first lets a test
    see exactly what it sends, from its first record on. `consumers` maps a consumer name (the
    group is `<prefix>.<name>`) to its topics.
    """
    prefix = unique(service)
    for consumer, topic_names in consumers.items():
        positioner = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=f"{prefix}.{consumer}", enable_auto_commit=False
        )
        await positioner.start()
        try:
            await positioner.topics()  # fetches the metadata partitions_for_topic reads
            partitions = [
                TopicPartition(topic, p)
                for topic in topic_names
                for p in sorted(positioner.partitions_for_topic(topic) or ())
            ]
            if not partitions:  # no such topic yet: earliest is where this test begins anyway
                continue
            ends = await end_offsets(positioner, partitions)
            positioner.assign(partitions)  # all of them, the empty ones too, for the commit
            await positioner.commit({tp: OffsetAndMetadata(end, "") for tp, end in ends.items()})
        finally:
            await positioner.stop()
    return prefix


async def produce(
    bootstrap: str,
    topic: str,
    value: bytes,
    *,
    key: bytes | None = None,
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    """Publish one record and wait for the broker's acknowledgement."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key, headers=headers or [])
    finally:
        await producer.stop()


async def consume_json(
    bootstrap: str, topic: str, *, count: int, timeout: float = 60.0
) -> list[dict[str, Any]]:
    """Read `count` JSON records from the start of `topic` (no consumer group)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + timeout
        while len(found) < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                found.extend(json.loads(r.value) for r in records)
    finally:
        await consumer.stop()
    return found


def signal_event(
    source: str,
    *,
    categorie: str = "overlast",
    event_id: str | None = None,
    street: str = "Asingastraat",
    city: str = "Groningen",
    buurt_code: str | None = "BU00140107",
    **data: Any,
) -> dict[str, Any]:
    """A valid partner signal CloudEvent as a dict (change it to make it invalid)."""
    location: dict[str, Any] = {
        "street": street,
        "city": city,
        "house_number": "43",
        "postcode": "9714 ab",
    }
    if buurt_code:
        location["buurt_code"] = buurt_code
    return {
        "specversion": "1.0",
        "id": event_id or unique("ev"),
        "source": source,
        "type": f"nl.wijkaanpak.signaal.{categorie}",
        "time": "2026-11-20T21:30:00+01:00",
        "datacontenttype": "application/json",
        "data": {
            "observed_at": "2026-11-20T21:15:00+01:00",
            "location": location,
            "severity": "normaal",
            "subcategory": "geluid",
            "description": "Harde muziek na middernacht",
            **data,
        },
    }


def encode(event: dict[str, Any]) -> bytes:
    """An event as the compact JSON a partner sends."""
    return json.dumps(event, separators=(",", ":")).encode()


@contextmanager
def service_logging(service: str, keep: logging.Handler | None = None) -> Iterator[None]:
    """Log as a service process does (structlog, JSON to stdout) inside the block; `keep` is a
    handler (pytest's caplog.handler) that stays on the root logger. Restored afterwards."""
    root = logging.getLogger()
    handlers, level, config = root.handlers[:], root.level, structlog.get_config()
    configure_logging(service, "json")
    # No logger may keep this configuration (and its stdout) after the block.
    structlog.configure(cache_logger_on_first_use=False)
    if keep is not None:
        root.addHandler(keep)
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.configure(**config)
        structlog.contextvars.clear_contextvars()
