"""Two routing processes in one consumer group on a 4-partition signals.accepted, one of them
killed and restarted mid-stream: counts, assignments and advice are exactly what one routing
gives for the same records (a replay through a single `Routing`), and nothing happens twice."""

from __future__ import annotations

import json
import random
import signal
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import yaml
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from contracts import topics
from contracts.codec import encode
from contracts.events import SIGNAL_ACCEPTED_TYPE, SignalAccepted
from services.routing import replay as routing_replay
from tests.support import eventually, groups_at_end, unique
from tools.devstack import (
    DEMO_PARTNERS,
    DEMO_RULES,
    DemoCredentials,
    ServiceProcesses,
    write_partner_registry,
)
from wijkbus.infra import Backend, free_port

PARTITIONS = 4
SIGNALS = 2000
STREETS = 50
CATEGORIES = ["overlast", "overlast", "vernieling", "vervuiling", "zorg"]


@dataclass
class RoutingInstance(ServiceProcesses):
    """One routing process of the pair: the dev stack's way of starting it, plus settings."""

    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self, name: str) -> dict[str, str]:
        """The service's environment with this instance's settings on top."""
        return {**super().env(name), **self.extra_env}


def _rules(path: Path) -> Path:
    """The demo rules with thresholds a street crosses part-way through its ~40 signals."""
    rules = yaml.safe_load(DEMO_RULES.read_text())
    rules["version"] = "scale-out-test"
    counts = {"wijkhub": 15, "vervuiling-schoonmaak": 6}
    for threshold in rules["thresholds"]:
        threshold["count"] = counts[threshold["id"]]
    path.write_text(yaml.safe_dump(rules, allow_unicode=True))
    return path


def accepted(city: str, now: datetime) -> list[tuple[bytes, bytes]]:
    """(key, value) of accepted signals as intake publishes them: keyed by the street key."""
    rng = random.Random(20261201)
    records = []
    for n in range(SIGNALS):
        street = rng.randrange(STREETS)
        observed = now - timedelta(minutes=1 + rng.randrange(2 * 24 * 60))
        signal_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        data = SignalAccepted(
            signal_id=signal_id,
            partner_id="woonstichting-noord",
            event_source="urn:nld:kvknr:12345678:systeem:huurbeheer",
            event_id=f"SO-{n}",
            categorie=rng.choice(CATEGORIES),  # type: ignore[arg-type]
            subcategory=rng.choice([None, "geluid"]),
            severity=rng.choice(["laag", "normaal", "hoog"]),  # type: ignore[arg-type]
            observed_at=observed,
            received_at=now,
            street_key=f"naam:{city}:straat-{street}",
            street=f"Straat {street}",
            city=city,
            buurt_code=f"BU001401{street % 8:02d}",
            openbareruimte_id=None,
        )
        value = encode(
            SIGNAL_ACCEPTED_TYPE,
            "urn:nld:wijkbus:intake",
            data,
            id=signal_id,
            subject=signal_id,
            time=now,
        )
        records.append((data.street_key.encode(), value))
    return records


async def four_partitions(bootstrap: str) -> None:
    """signals.accepted with four partitions, before any service creates it with one."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topic = NewTopic(topics.SIGNALS_ACCEPTED, num_partitions=PARTITIONS, replication_factor=1)
        try:
            response = await admin.create_topics([topic])
            assert all(e[1] == 0 for e in response.topic_errors), response
        except TopicAlreadyExistsError:  # a shared broker: make sure it has the partitions
            (found,) = await admin.describe_topics([topics.SIGNALS_ACCEPTED])
            if len(found["partitions"]) < PARTITIONS:
                await admin.create_partitions(
                    {topics.SIGNALS_ACCEPTED: NewPartitions(total_count=PARTITIONS)}
                )
        (found,) = await admin.describe_topics([topics.SIGNALS_ACCEPTED])
        assert len(found["partitions"]) >= PARTITIONS, found
    finally:
        await admin.close()


async def publish(bootstrap: str, records: list[tuple[bytes, bytes]]) -> Counter[int]:
    """Publish with the default partitioner, as intake's relay does; records per partition."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, linger_ms=5)
    await producer.start()
    try:
        sent = [await producer.send(topics.SIGNALS_ACCEPTED, v, key=k) for k, v in records]
        return Counter([(await future).partition for future in sent])
    finally:
        await producer.stop()


async def members(bootstrap: str, group: str) -> int:
    """How many members a stable consumer group has (0 while it rebalances)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([group])
        (found,) = response.groups
        return len(found[5]) if found[2] == "Stable" else 0
    finally:
        await admin.close()


@pytest.fixture
def pair(
    backend: Backend, kafka_bootstrap: str, fresh_database: str, tmp_path: Path
) -> Iterator[tuple[RoutingInstance, RoutingInstance]]:
    """Two routing instances on one database and broker (not started yet); stopped afterwards."""
    creds = DemoCredentials.load_or_create(tmp_path / "secrets.json")
    partners = write_partner_registry(tmp_path / "partners.yaml", creds)
    rules = _rules(tmp_path / "rules.yaml")
    ports = {"a": free_port(), "b": free_port()}
    assert ports["a"] != ports["b"]
    both = tuple(
        RoutingInstance(
            tmp_path / name,
            kafka_bootstrap,
            fresh_database,
            creds,
            partners,
            rules_file=rules,
            ports={"routing": port},
        )
        for name, port in ports.items()
    )
    try:
        yield both  # type: ignore[misc]
    finally:
        for instance in both:
            instance.stop_all()


async def _rows(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


TABLES = {
    "counts": "street_key, categorie, count FROM {s}.street_counts",
    "assignments": "signal_id, partner_id, rule_id FROM {s}.assignments",
    "crossings": "street_key, threshold_id, window_days, counts::text FROM {s}.threshold_crossings",
    "alerts": "street_key, threshold_id, active, crossings FROM {s}.street_alerts",
}


async def projection(url: str, schema: str, city: str) -> dict[str, Any]:
    """What routing made of the city's streets in `schema`, free of times and generated ids:
    each table as a sorted list of rows, and the outbox's crossings and assignments."""
    like = f"naam:{city}:%"
    found: dict[str, Any] = {}
    for name, query in TABLES.items():
        rows = await _rows(url, f"SELECT {query.format(s=schema)} WHERE street_key LIKE $1", like)
        found[name] = sorted(tuple(r) for r in rows)
    outbox = await _rows(url, f"SELECT topic, convert_from(value, 'UTF8') FROM {schema}.outbox")
    found["streets_events"], found["assigned_messages"] = [], Counter[str]()
    for topic, value in outbox:
        event = json.loads(value)
        if topic == topics.STREETS_EVENTS and event["subject"].startswith(like[:-1]):
            data = {k: v for k, v in event["data"].items() if k != "crossed_at"}
            found["streets_events"].append((event["id"], json.dumps(data, sort_keys=True)))
        elif topic == topics.ROUTING_EVENTS and event["id"].startswith("assigned-"):
            found["assigned_messages"][event["id"]] += 1
    found["streets_events"].sort()
    return found


async def _counted(url: str, city: str) -> int:
    query = "SELECT count(*) FROM routing.street_incidents WHERE street_key LIKE $1"
    return int((await _rows(url, query, f"naam:{city}:%"))[0][0])


async def test_two_routing_instances_in_one_group_give_what_one_gives(
    pair: tuple[RoutingInstance, RoutingInstance], kafka_bootstrap: str, fresh_database: str
) -> None:
    a, b = pair
    city = unique("stad").replace("-", "")
    await four_partitions(kafka_bootstrap)
    prefix = await groups_at_end(
        kafka_bootstrap,
        "routing",
        {"signals": [topics.SIGNALS_ACCEPTED], "feedback": [topics.SIGNALS_FEEDBACK]},
    )
    # Small fetches, so the stream takes many batches and the rebalances land in the middle.
    settings = {"ROUTING_GROUP_PREFIX": prefix, "ROUTING_CONSUMER_MAX_BATCH": "25"}
    a.extra_env = b.extra_env = settings
    records = accepted(city, datetime.now(UTC))

    a.start("routing")
    b.start("routing")
    a.wait_ready(("routing",))
    b.wait_ready(("routing",))

    async def both_joined() -> bool:
        return await members(kafka_bootstrap, f"{prefix}.signals") == 2

    # Tansu lists the members, not their partitions; the client-side assignor splits 4 by 2.
    await eventually(both_joined, what="both instances in the signals group")
    per_partition = await publish(kafka_bootstrap, records)
    assert len(per_partition) == PARTITIONS, per_partition

    async def busy() -> bool:
        return await _counted(fresh_database, city) > SIGNALS // 4

    await eventually(busy, interval=0.05, what="routing part-way through the stream")
    b.kill("routing", signal.SIGKILL)  # a takes b's partitions once b's session expires
    killed_at = await _counted(fresh_database, city)
    assert killed_at < SIGNALS, "routing finished before the kill: the test proved nothing"
    b.start("routing")  # and gives some back when b joins again
    b.wait_ready(("routing",))

    async def complete() -> bool:
        return await _counted(fresh_database, city) >= SIGNALS

    await eventually(complete, timeout=120, what=f"all {SIGNALS} signals counted")
    a.stop_all()
    b.stop_all()

    # What ONE routing makes of the same records: a replay through a single Routing.
    single = f"routing_single_{uuid.uuid4().hex[:8]}"
    partners = tuple(p["id"] for p in DEMO_PARTNERS)
    done = await routing_replay.rebuild(fresh_database, kafka_bootstrap, single, partners=partners)
    assert not done.refused and done.handled >= SIGNALS, (done.handled, done.refused[:3])
    live = await projection(fresh_database, "routing", city)
    one = await projection(fresh_database, single, city)

    expected = Counter()
    for _, value in records:
        data = json.loads(value)["data"]
        expected[(data["street_key"], data["categorie"])] += 1
    assert live["counts"] == sorted((*key, n) for key, n in expected.items())
    assert len(live["assignments"]) == len(live["assigned_messages"]) == SIGNALS
    assert set(live["assigned_messages"].values()) == {1}, "a signal was assigned twice"
    for table in ("counts", "assignments", "crossings", "alerts", "streets_events"):
        assert live[table] == one[table], f"{table}: two instances differ from one"
    crossed = Counter((street, threshold) for street, threshold, *_ in live["crossings"])
    assert len(crossed) > STREETS, "too few crossings to prove anything"
    assert set(crossed.values()) == {1}, "a street crossed a threshold twice"
    inbox = "SELECT count(*) FROM routing.inbox WHERE consumer = 'signals'"
    assert (await _rows(fresh_database, inbox))[0][0] == SIGNALS
