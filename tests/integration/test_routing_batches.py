"""Routing a batch of accepted signals at once leaves exactly what routing them in batches of one
leaves: incidents, counts, assignments, timers, street alerts, crossings and the outbox, byte for
byte. Both go through the one processor (`wijkbus.processor.process`) that live and replay run.

Both run against the real PostgreSQL, each in a schema of its own; no broker is needed, as the
batches are handed to the processor directly, the way a source hands a partition's batch over.
A batch with malformed records goes through the live source itself: they are dead-lettered with
their reason and the rest of the batch is routed.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from contracts import topics
from contracts.envelope import CloudEvent, new_event, to_json_bytes
from contracts.events import SIGNAL_ACCEPTED_TYPE, SignalAccepted
from services.routing.handlers import Routing
from services.routing.processors import processors
from services.routing.rule_parsing import parse_rules
from tests.integration.test_routing_flow import INTAKE, START, Clock, signal_event
from wijkbus import consumer, db, processor
from wijkbus.consumer import ConsumerKit
from wijkbus.processor import Delivery

MIGRATIONS = Path(__file__).parents[2] / "services" / "routing" / "migrations"
PARTNERS = ["gemeente-groningen", "politie-groningen", "woonstichting-noord", "wij-groningen"]
RULES = """\
version: "bulk-1"
municipality: Groningen
gebiedsmanager: gemeente-groningen
rules:
  - id: historie
    match: {categorie: [overlast, vernieling], min_recent: {days: 30, count: 3}}
    responder: wij-groningen
    acknowledge_within_hours: 8
    hours: werkuren
    escalation:
      - {partner: politie-groningen, acknowledge_within_hours: 4}
  - id: standaard
    default: true
    responder: gemeente-groningen
    acknowledge_within_hours: 48
thresholds:
  - id: wijkhub
    categorie: [overlast, vernieling]
    window_days: 30
    count: 3
    advice: Bespreek een wijkhub.
  - id: schoonmaak
    categorie: [vervuiling]
    window_days: 7
    count: 2
    advice: Plan een extra schoonmaakronde.
"""
TABLES = {
    "street_incidents": "signal_id",
    "street_counts": "street_key, categorie",
    "assignments": "signal_id",
    "escalation_timers": "signal_id",
    "street_alerts": "street_key, threshold_id",
    "threshold_crossings": "id",
    "outbox": "id",
}
DAY = timedelta(days=1)


@pytest.fixture
async def schemas(fresh_database: str) -> AsyncIterator[tuple[str, asyncpg.Connection]]:
    """One connection to a database with an empty routing schema for each way of handling."""
    for schema in ("one_by_one", "in_bulk"):
        await db.migrate_url(fresh_database, schema, MIGRATIONS)
    conn = await asyncpg.connect(fresh_database)
    try:
        yield fresh_database, conn
    finally:
        await conn.close()


def accepted(name: str, categorie: str, observed_days_ago: float, **changes: Any) -> CloudEvent:
    """A signals.accepted event for the street `name`, observed that many days before START."""
    fields: dict[str, Any] = {
        "signal_id": str(uuid.uuid4()),
        "partner_id": "woonstichting-noord",
        "event_source": "urn:nld:kvknr:12345678:systeem:huurbeheer",
        "event_id": f"HB-{uuid.uuid4().hex[:8]}",
        "categorie": categorie,
        "subcategory": None,
        "severity": "normaal",
        "observed_at": START - observed_days_ago * DAY,
        "received_at": START,
        "street_key": f"naam:groningen:{name.lower()}",
        "street": name,
        "city": "Groningen",
        "buurt_code": "BU00140107",
        "openbareruimte_id": None,
    }
    return signal_event(SignalAccepted(**{**fields, **changes}))


def copy_of(event: CloudEvent) -> CloudEvent:
    """The same signal again under another event id (e.g. intake's own redelivery)."""
    signal = SignalAccepted.model_validate(event.data)
    return new_event(SIGNAL_ACCEPTED_TYPE, INTAKE, signal, id=str(uuid.uuid4()), subject="x")


async def handle(database: str, batches: list[tuple[datetime, list[CloudEvent]]]) -> None:
    """Route each batch both ways through the processor: in batches of one, and whole."""
    clock = Clock()
    one = db.create_pool(database, "one_by_one")
    many = db.create_pool(database, "in_bulk")
    async with await one as one_pool, await many as many_pool:
        for pool in (one_pool, many_pool):
            kit = ConsumerKit(service="routing", pool=lambda p=pool: p, backoff_s=0)
            signals = processors(Routing(parse_rules(RULES, PARTNERS), clock))[0]
            offset = 0
            for now, events in batches:
                clock.now = now
                records = []
                for event in events:
                    records.append(
                        Delivery(topics.SIGNALS_ACCEPTED, 0, offset, b"k", to_json_bytes(event))
                    )
                    offset += 1
                shares = [records] if pool is many_pool else [[r] for r in records]
                for share in shares:
                    assert await processor.process(pool, signals, share, kit)


async def contents(conn: asyncpg.Connection, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row routing wrote in `schema`, in a fixed order."""
    found = {}
    for table, order in TABLES.items():
        columns = "id, topic, key, value, headers" if table == "outbox" else "*"
        rows = await conn.fetch(f"SELECT {columns} FROM {schema}.{table} ORDER BY {order}")
        found[table] = [tuple(r) for r in rows]
    return found


async def test_a_batch_leaves_exactly_what_batches_of_one_leave(
    schemas: tuple[str, asyncpg.Connection],
) -> None:
    database, conn = schemas
    hoogte, korreweg, oost = "Hoogtestraat", "Korrewegstraat", "Oosterstraat"
    first = accepted(hoogte, "overlast", 2)
    later = START + 40 * DAY
    batches = [
        # One street crosses the wijkhub threshold in the middle of a batch, then takes the
        # history rule; another crosses the schoonmaak threshold; late and out of order
        # observations land where they belong; a copy of a signal changes nothing.
        (
            START,
            [
                first,
                accepted(korreweg, "vervuiling", 1),
                accepted(hoogte, "vernieling", 45),  # too old for the 30 days
                accepted(hoogte, "vernieling", 29),
                copy_of(first),
                accepted(korreweg, "vervuiling", 6.9),
                accepted(hoogte, "overlast", 1),
                accepted(hoogte, "overlast", -1),  # observed after now: in no window yet
                accepted(oost, "zorg", 3, buurt_code=None),
                accepted(korreweg, "vervuiling", 0, street="Korrewegstr."),
            ],
        ),
        # A batch of one, and a signal seen in an earlier batch.
        (START + DAY, [accepted(hoogte, "overlast", 0), copy_of(first)]),
        # Forty days on, the street's first signal finds it below both thresholds (re-armed)
        # and its third crosses again, all in one batch.
        (
            later,
            [
                accepted(hoogte, "overlast", -39),
                accepted(korreweg, "zorg", -39),
                accepted(hoogte, "vernieling", -38),
                accepted(hoogte, "overlast", -40),
                accepted(korreweg, "vervuiling", -40),
            ],
        ),
    ]
    await handle(database, batches)

    one_by_one = await contents(conn, "one_by_one")
    assert await contents(conn, "in_bulk") == one_by_one
    # What both did, so that the comparison cannot pass on two empty schemas.
    assert len(one_by_one["street_incidents"]) == 15
    assert {a[6] for a in one_by_one["assignments"]} == {"historie", "standaard"}
    crossings = [(c[1].split(":")[-1], c[2], c[6]) for c in one_by_one["threshold_crossings"]]
    assert crossings == [
        ("korrewegstraat", "schoonmaak", START),
        ("hoogtestraat", "wijkhub", START),
        ("hoogtestraat", "wijkhub", later),
    ]
    alerts = {(a[0].split(":")[-1], a[1]): (a[2], a[3]) for a in one_by_one["street_alerts"]}
    assert alerts == {
        ("hoogtestraat", "wijkhub"): (True, 2),
        ("korrewegstraat", "schoonmaak"): (False, 1),
    }


@dataclass(frozen=True)
class Record:
    """A consumed Kafka record, as aiokafka hands it to the kit."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


class Batch:
    """A polled batch as faststream hands it to the kit's subscriber, which acks or nacks it."""

    def __init__(self, records: list[Record]) -> None:
        self.raw_message = tuple(records)
        self.outcome = ""

    async def ack(self) -> None:
        self.outcome = "ack"

    async def nack(self) -> None:
        self.outcome = "nack"


class CapturingBroker:
    """Stands in for the KafkaBroker: keeps the subscriber the kit registers, to call it."""

    def __init__(self) -> None:
        self.subscribers: list[Callable[[Batch], Awaitable[None]]] = []

    def subscriber(self, *topic_names: str, **options: Any) -> Callable[[Any], Any]:
        def register(func: Callable[[Batch], Awaitable[None]]) -> Any:
            self.subscribers.append(func)
            return func

        return register


async def test_malformed_records_in_a_batch_are_dead_lettered_and_the_rest_is_routed(
    fresh_database: str,
) -> None:
    await db.migrate_url(fresh_database, "routing", MIGRATIONS)
    pool = await db.create_pool(fresh_database, "routing")
    try:
        broker = CapturingBroker()
        kit = ConsumerKit(service="routing", pool=lambda: pool, backoff_s=0)
        routing = Routing(parse_rules(RULES, PARTNERS), Clock())
        consumer.subscribe(broker, kit, processors(routing)[0])  # type: ignore[arg-type]
        [on_batch] = broker.subscribers
        good = [accepted("Hoogtestraat", "overlast", n) for n in range(3)]
        wrong_type = new_event(
            "nl.wijkaanpak.iets-anders", INTAKE, SignalAccepted.model_validate(good[0].data)
        )
        values = [
            to_json_bytes(good[0]),
            b"not a cloudevent",
            to_json_bytes(good[1]),
            to_json_bytes(wrong_type),
            to_json_bytes(good[0]),  # delivered again
            to_json_bytes(good[2]),
        ]
        batch = Batch(
            [Record(topics.SIGNALS_ACCEPTED, 0, n, b"k", v) for n, v in enumerate(values)]
        )
        await on_batch(batch)

        assert batch.outcome == "ack"
        async with pool.acquire() as conn:
            routed = await conn.fetch("SELECT signal_id FROM assignments")
            dead = await conn.fetch('SELECT "offset", reason FROM dead_letters ORDER BY 1')
            counts = await conn.fetch("SELECT categorie, count FROM street_counts")
        assert {r["signal_id"] for r in routed} == {e.id for e in good}
        assert [tuple(r) for r in counts] == [("overlast", 3)]
        assert [r["offset"] for r in dead] == [1, 3]
        assert dead[0]["reason"].startswith("not a CloudEvent")
        assert "unexpected event type 'nl.wijkaanpak.iets-anders'" in dead[1]["reason"]
    finally:
        await pool.close()
