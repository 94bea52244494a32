"""Intake's one write path: a mixed batch gives exactly what its events give one at a time.

Two schemas on the real PostgreSQL get the same partner records, once as batches and once each
record as a batch of one; verdicts, receipts, stored rows, the event log and the outbox must be
equal, and the hash chain intact afterwards.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from contracts import topics
from services.intake import ledger, ledger_verify, store
from services.intake.app import HERE
from services.intake.domain import Verdict
from services.intake.handlers import Intake
from tests.support import demo_registry, encode, signal_event
from tools.devstack import DEMO_PARTNERS
from wijkbus import db
from wijkbus.consumer import Delivery
from wijkbus.partners import PartnerRegistry, sign
from wijkbus.vault import Vault, new_master_key, open_person

SOURCE = {p["id"]: p["source"] for p in DEMO_PARTNERS}
CORP, POLICE = "woonstichting-noord", "politie-groningen"
NOW = datetime(2026, 11, 20, 21, 45, tzinfo=UTC)
TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
PERSON = {"name": "A. de Vries", "email": "a.devries@example.nl", "arrears_cents": 125000}
TABLES = {
    "received_events": "SELECT source, event_id, body_hash, partner_id, type, signal_id,"
    " received_at FROM received_events ORDER BY source, event_id",
    "signals": "SELECT * FROM signals ORDER BY signal_id",
    "outcomes": "SELECT partner_id, channel, status, reason, at FROM outcomes ORDER BY id",
    "outbox": "SELECT topic, key, value, headers FROM outbox ORDER BY id",
    "event_log": "SELECT topic, key, value, signal_id FROM event_log ORDER BY seq",
    "vault_subjects": "SELECT subject_ref, created_at FROM vault_subjects ORDER BY 1",
    "vault_persons": "SELECT signal_id, subject_ref, sealed_at FROM vault_persons ORDER BY 1",
}


@dataclass
class Side:
    """One schema with its own intake: signal ids counted from 1, the same clock and vault."""

    pool: asyncpg.Pool
    intake: Intake
    registry: PartnerRegistry

    def record(self, partner: str, body: bytes, *, signed_by: str | None = None) -> Delivery:
        secret = self.registry.signing_secret(signed_by or partner)
        return Delivery(
            topic=topics.partner_events(partner),
            partition=0,
            offset=0,
            key=None,
            value=body,
            headers={"wijkbus-signature": sign(secret, body).encode()},
        )

    async def send(self, records: list[Delivery], *, one_at_a_time: bool) -> None:
        groups = [[r] for r in records] if one_at_a_time else [records]
        for group in groups:
            async with self.pool.acquire() as conn, conn.transaction():
                await self.intake.on_partner_records(conn, group)

    async def state(self) -> dict[str, list[tuple[Any, ...]]]:
        async with self.pool.acquire() as conn:
            found = {name: [tuple(r) for r in await conn.fetch(q)] for name, q in TABLES.items()}
            for logged in ("outbox", "event_log"):
                found[logged] = [_without_random_id(*row) for row in found[logged]]
            found["persons"] = [
                (signal_id, await open_person(conn, self.intake.vault, str(signal_id)))
                for signal_id, *_ in found["vault_persons"]
            ]
        return found


def _without_random_id(topic: str, key: Any, value: bytes, *rest: Any) -> tuple[Any, ...]:
    """A published message with its CloudEvent parsed, the random id of a receipt or feedback
    event left out (an accepted signal's id is its signal id)."""
    event = json.loads(value)
    if topic != topics.SIGNALS_ACCEPTED:
        del event["id"]
    return topic, key, event, *rest


def _counter() -> Callable[[], str]:
    numbers = itertools.count(1)
    return lambda: str(uuid.UUID(int=next(numbers)))


@pytest.fixture
async def sides(fresh_database: str) -> AsyncIterator[tuple[Side, Side]]:
    registry, _ = demo_registry()
    vault = Vault.from_setting(new_master_key())
    pools = []
    for schema in ("batched", "single"):
        await db.migrate_url(fresh_database, schema, HERE / "migrations")
        pools.append(await db.create_pool(fresh_database, schema, max_size=2))
    try:
        yield tuple(  # type: ignore[misc]
            Side(pool, Intake(registry, lambda: NOW, vault, _counter()), registry) for pool in pools
        )
    finally:
        for pool in pools:
            await pool.close()


def _signal(partner: str = CORP, **changes: Any) -> dict[str, Any]:
    return {**signal_event(SOURCE[partner], **changes), "traceparent": TRACE}


def _feedback(partner: str, signal_id: str, kind: str, event_id: str) -> dict[str, Any]:
    data: dict[str, Any] = {"signal_id": signal_id, "note": "we gaan erheen"}
    if kind == "afgehandeld":
        data["outcome"] = "opgelost"
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": SOURCE[partner],
        "type": f"nl.wijkaanpak.signaal.{kind}",
        "traceparent": TRACE,
        "data": data,
    }


def _first_batch() -> list[tuple[str, dict[str, Any]]]:
    return [
        (CORP, _signal(event_id="first-a")),
        (CORP, _signal(event_id="first-b", street="Korreweg")),
        (CORP, _signal(event_id="first-c", categorie="huurachterstand", person=PERSON)),
    ]


def _mixed_batch(first: dict[str, Any], assigned: str) -> list[tuple[str, bytes, str | None]]:
    """Every kind of record intake can get, some about each other, as (partner, body, signer)."""
    malformed = _signal(event_id="malformed")
    malformed["data"]["location"]["postcode"] = "0714AB"
    changed = {**first, "data": {**first["data"], "severity": "hoog"}}
    twin = _signal(event_id="twin")
    twin_changed = {**twin, "data": {**twin["data"], "severity": "laag"}}
    oversized = _signal(event_id="oversized", description="x" * 70_000)
    events: list[tuple[str, dict[str, Any], str | None]] = [
        (CORP, _signal(event_id="plain"), None),
        (CORP, _signal(event_id="person", categorie="huurachterstand", person=PERSON), None),
        (POLICE, _feedback(POLICE, assigned, "opgepakt", "fb-ack"), None),
        (CORP, _feedback(CORP, assigned, "opgepakt", "fb-not-assigned"), None),
        (POLICE, _feedback(POLICE, str(uuid.UUID(int=999)), "opgepakt", "fb-unknown"), None),
        (POLICE, _feedback(POLICE, assigned, "afgehandeld", "fb-done"), None),
        (CORP, malformed, None),
        (CORP, _signal(event_id="not-allowed", categorie="ondermijning"), None),
        (CORP, _signal(POLICE, event_id="other-source"), None),
        (CORP, _signal(event_id="bad-signature"), POLICE),
        (CORP, twin, None),
        (CORP, twin, None),  # a duplicate within the batch
        (CORP, twin_changed, None),  # a conflict within the batch
        (CORP, first, None),  # a duplicate of the first batch
        (CORP, changed, None),  # a conflict with the first batch
        (POLICE, _feedback(POLICE, assigned, "opgepakt", "fb-ack"), None),  # duplicate feedback
        (CORP, oversized, None),
    ]
    bodies = [(partner, encode(event), signer) for partner, event, signer in events]
    return [*bodies, (CORP, b"{not json", None), (CORP, b"[]", None)]


ASSIGNED_AT = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)  # the same on both sides


async def _run(side: Side, *, one_at_a_time: bool) -> None:
    first = _first_batch()
    await side.send([side.record(p, encode(e)) for p, e in first], one_at_a_time=one_at_a_time)
    async with side.pool.acquire() as conn:
        assigned = str(
            await conn.fetchval("SELECT signal_id FROM signals WHERE event_id = 'first-b'")
        )
        terms = store.Assignment(POLICE, "overlast", "test", ASSIGNED_AT, None)
        await store.set_assignments(conn, {assigned: terms})  # as routing would
    mixed = _mixed_batch(first[0][1], assigned)
    records = [side.record(p, body, signed_by=signer) for p, body, signer in mixed]
    await side.send(records, one_at_a_time=one_at_a_time)


async def test_a_mixed_batch_stores_what_its_events_store_one_at_a_time(
    sides: tuple[Side, Side],
) -> None:
    batched, single = sides
    await _run(batched, one_at_a_time=False)
    await _run(single, one_at_a_time=True)
    expected, found = await single.state(), await batched.state()
    for table in expected:
        assert found[table] == expected[table], table
    receipts = [v for t, _, v, _ in found["outbox"] if t.endswith(".receipts")]
    kinds = [(r["data"]["event_id"], r["type"].rsplit(".", 1)[1]) for r in receipts[3:]]
    assert kinds == [
        ("plain", "geaccepteerd"),
        ("person", "geaccepteerd"),
        ("fb-ack", "geaccepteerd"),
        ("fb-not-assigned", "geweigerd"),
        ("fb-unknown", "geweigerd"),
        ("fb-done", "geaccepteerd"),
        ("malformed", "geweigerd"),
        ("not-allowed", "geweigerd"),
        ("other-source", "geweigerd"),
        ("bad-signature", "geweigerd"),
        ("twin", "geaccepteerd"),
        ("twin", "duplicaat"),
        ("twin", "geweigerd"),
        ("first-a", "duplicaat"),
        ("first-a", "geweigerd"),
        ("fb-ack", "duplicaat"),
        ("oversized", "geweigerd"),
        (None, "geweigerd"),
        (None, "geweigerd"),
    ]
    statuses = {r[3]: r[14] for r in found["signals"]}  # event_id -> status
    assert statuses["first-b"] == "afgehandeld"
    assert len(found["persons"]) == 2 and all(p == PERSON for _, p in found["persons"])


async def test_the_chain_is_intact_after_mixed_batches(sides: tuple[Side, Side]) -> None:
    batched, _ = sides
    await _run(batched, one_at_a_time=False)
    await ledger.seal_all(batched.pool)
    async with batched.pool.acquire() as conn:
        verification = await ledger_verify.verify(conn)
    assert verification.intact, verification.problem
    assert verification.sealed == 8  # 6 accepted signals and 2 accepted feedbacks
    assert verification.unsealed == 0


async def test_a_single_event_is_a_batch_of_one(sides: tuple[Side, Side]) -> None:
    batched, _ = sides
    partner = batched.registry.get(CORP)
    assert partner is not None
    body = encode(_signal(event_id="alone"))
    async with batched.pool.acquire() as conn, conn.transaction():
        first = await batched.intake.submit(conn, partner, body, "http")
        again = await batched.intake.submit(conn, partner, body, "http")
    assert first == Verdict("accepted", signal_id=str(uuid.UUID(int=1)))
    assert again == Verdict("duplicate", signal_id=first.signal_id)
