"""Rebuild routing's projection from its input topics into a scratch schema, and compare.

`wijkbus replay routing --into SCHEMA [--until TIME]` reads signals.accepted and then
signals.feedback from offset 0 up to the end they had when the replay began (without a consumer
group, so the live service is not disturbed), and hands every record to the same handlers the
live service runs, exactly once per CloudEvent (the scratch schema has its own inbox). The clock
of the replay is each record's own event time, so windows, deadlines and thresholds are judged
as they were; escalation timers are not fired (escalations are routing's own output, not input).
Nothing is published: the scratch schema's outbox is never relayed.

Then every incident and assignment of the replayed signals, and every street count, is compared
with the live schema. Live may have moved on while the replay ran; what it handled after the
replay's end is left out of the comparison, not reported as a difference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts import topics
from contracts.envelope import parse_event
from services.routing.domain import parse_rules
from services.routing.handlers import Routing
from wijkbus import db, inbox

HERE = Path(__file__).parent
INPUTS = [topics.SIGNALS_ACCEPTED, topics.SIGNALS_FEEDBACK]


@dataclass
class ReplayClock:
    """The time of the record being replayed."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Rebuilt:
    """What a replay read and handled."""

    read: int = 0
    handled: int = 0
    after_until: int = 0
    duplicates: int = 0
    refused: list[str] = field(default_factory=list)


async def rebuild(
    database_url: str,
    bootstrap: str,
    into: str,
    *,
    partners: tuple[str, ...],
    until: datetime | None = None,
    live_schema: str = "routing",
    progress: Callable[[int, int], None] | None = None,
) -> Rebuilt:
    """Replay the input topics into the empty schema `into` with the live rule set."""
    await db.migrate_url(database_url, into, HERE / "migrations")
    pool = await db.create_pool(database_url, into, max_size=2)
    try:
        async with pool.acquire() as conn:
            if await conn.fetchval("SELECT count(*) FROM inbox"):
                raise ValueError(f"schema {into} is not empty: replay into a new schema")
            latest = await conn.fetchrow(
                f"SELECT version, body FROM {live_schema}.rulesets ORDER BY seq DESC LIMIT 1"
            )
            if latest is None:
                raise ValueError(f"the live schema {live_schema} has no rule set")
            clock = ReplayClock()
            routing = Routing(parse_rules(latest["body"], partners), clock, partners)
            await routing.record_ruleset(conn)
        return await _replay(pool, bootstrap, routing, clock, until, progress)
    finally:
        await pool.close()


async def _replay(
    pool: asyncpg.Pool,
    bootstrap: str,
    routing: Routing,
    clock: ReplayClock,
    until: datetime | None,
    progress: Callable[[int, int], None] | None,
) -> Rebuilt:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    done = Rebuilt()
    try:
        await consumer.topics()
        ends: dict[TopicPartition, int] = {}
        for topic in INPUTS:
            partitions = [
                TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()
            ]
            if partitions:
                ends.update(await consumer.end_offsets(partitions))
        total = sum(ends.values())
        handlers = {
            topics.SIGNALS_ACCEPTED: ("signals", routing.on_signal_event),
            topics.SIGNALS_FEEDBACK: ("feedback", routing.on_feedback_event),
        }
        for topic in INPUTS:  # every signal before any feedback on it
            mine = [tp for tp in ends if tp.topic == topic and ends[tp] > 0]
            if not mine:
                continue
            consumer.assign(mine)
            await consumer.seek_to_beginning(*mine)
            open_ = set(mine)
            name, handle = handlers[topic]
            while open_:
                batch = await consumer.getmany(*open_, timeout_ms=1000, max_records=500)
                for tp, records in batch.items():
                    for record in records:
                        if record.offset >= ends[tp]:
                            break
                        done.read += 1
                        await _handle_one(pool, name, handle, record.value, clock, until, done)
                    if await consumer.position(tp) >= ends[tp]:
                        open_.discard(tp)
                if progress:
                    progress(done.read, total)
    finally:
        await consumer.stop()
    return done


async def _handle_one(
    pool: asyncpg.Pool,
    consumer_name: str,
    handle: Callable[..., object],
    value: bytes | None,
    clock: ReplayClock,
    until: datetime | None,
    done: Rebuilt,
) -> None:
    try:
        event = parse_event(value or b"")
    except ValueError as exc:
        done.refused.append(f"{consumer_name}: not a CloudEvent ({exc})")
        return
    at = event.time or clock.now
    if until is not None and at > until:
        done.after_until += 1
        return
    clock.now = at
    async with pool.acquire() as conn, conn.transaction():
        if not await inbox.claim(conn, consumer_name, f"{event.source}|{event.id}"):
            done.duplicates += 1
            return
        try:
            async with conn.transaction():  # a savepoint: a refused record leaves no trace
                await handle(conn, event)  # type: ignore[misc]
        except Exception as exc:
            done.refused.append(f"{consumer_name} {event.id}: {exc}")
            return
        done.handled += 1


@dataclass(frozen=True)
class Difference:
    table: str
    key: str
    live: object
    replay: object


async def compare(
    database_url: str, into: str, live_schema: str = "routing"
) -> tuple[list[Difference], int]:
    """Every difference between the replayed signals' state live and rebuilt; and how many
    live signals are newer than the replay (left out)."""
    conn = await asyncpg.connect(database_url)
    try:
        diffs: list[Difference] = []
        replayed = f"(SELECT signal_id FROM {into}.street_incidents)"
        for table, columns in (
            ("street_incidents", "street_key, categorie, observed_at"),
            ("assignments", "rule_id, ruleset_version, status"),
        ):
            live = await _rows(conn, live_schema, table, columns, replayed)
            rebuilt = await _rows(conn, into, table, columns, replayed)
            for key in sorted(live.keys() | rebuilt.keys()):
                if live.get(key) != rebuilt.get(key):
                    diffs.append(Difference(table, key, live.get(key), rebuilt.get(key)))
        newer = await conn.fetch(
            f"SELECT street_key, categorie, count(*) AS n FROM {live_schema}.street_incidents"
            f" WHERE signal_id NOT IN {replayed} GROUP BY street_key, categorie"
        )
        later = {(r["street_key"], r["categorie"]): r["n"] for r in newer}
        live_counts = await _counts(conn, live_schema)
        rebuilt_counts = await _counts(conn, into)
        for street in sorted(live_counts.keys() | rebuilt_counts.keys()):
            expected = rebuilt_counts.get(street, 0) + later.get(street, 0)
            if live_counts.get(street, 0) != expected:
                found = live_counts.get(street, 0)
                diffs.append(Difference("street_counts", " ".join(street), found, expected))
        return diffs, sum(later.values())
    finally:
        await conn.close()


async def _rows(
    conn: asyncpg.Connection, schema: str, table: str, columns: str, replayed: str
) -> dict[str, tuple[object, ...]]:
    rows = await conn.fetch(
        f"SELECT signal_id::text AS id, {columns} FROM {schema}.{table}"
        f" WHERE signal_id IN {replayed}"
    )
    return {r["id"]: tuple(r)[1:] for r in rows}


async def _counts(conn: asyncpg.Connection, schema: str) -> dict[tuple[str, str], int]:
    rows = await conn.fetch(f"SELECT street_key, categorie, count FROM {schema}.street_counts")
    return {(r["street_key"], r["categorie"]): r["count"] for r in rows}
