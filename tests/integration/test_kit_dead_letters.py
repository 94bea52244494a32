"""The kit's consumers: a record that cannot be handled becomes a dead letter and the rest go on."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg

from tests.support import eventually, produce, unique
from wijkbus import processor
from wijkbus.processor import Delivery, PermanentError
from wijkbus.runtime import ServiceRuntime
from wijkbus.settings import ServiceSettings


async def _run(tmp_path: Path, database: str, bootstrap: str, *, redact: bool) -> list[dict]:
    topic = unique("kit.in")
    (tmp_path / "0001_handled.sql").write_text(
        "CREATE TABLE handled (id serial PRIMARY KEY, value bytea NOT NULL);"
    )

    async def handle(conn: asyncpg.Connection, delivery: Delivery) -> None:
        if b"poison" in delivery.value:
            raise PermanentError("poison record")
        await conn.execute("INSERT INTO handled (value) VALUES ($1)", delivery.value)

    settings = ServiceSettings(
        service_name="kittest",
        database_url=database,
        kafka_bootstrap_servers=bootstrap,
        group_prefix=unique("g"),
    )
    runtime = ServiceRuntime(settings, tmp_path)
    runtime.subscribe(
        processor.raw("in", [topic], processor.each(handle), redact_dead_letters=redact)
    )
    for value in (b"good-1", b'{"person": {"name": "Canary Jansen"}, "poison": 1}', b"good-2"):
        await produce(bootstrap, topic, value, key=b"one-partition")
    await runtime.start()
    conn = await asyncpg.connect(database)
    try:

        async def handled() -> list[bytes] | None:
            rows = await conn.fetch("SELECT value FROM kittest.handled ORDER BY id")
            return [bytes(r["value"]) for r in rows] if len(rows) >= 2 else None

        # Handled in partition order, each once, although the first try of the batch failed.
        assert await eventually(handled, what="both good records handled") == [b"good-1", b"good-2"]
        rows = await conn.fetch("SELECT value, reason FROM kittest.dead_letters")
    finally:
        await conn.close()
        await runtime.stop()
    return [{"value": bytes(r["value"]), "reason": r["reason"]} for r in rows]


async def test_poison_record_is_dead_lettered_with_its_reason_and_the_partition_moves_on(
    tmp_path: Path, fresh_database: str, kafka_bootstrap: str
) -> None:
    [dead] = await _run(tmp_path, fresh_database, kafka_bootstrap, redact=False)
    assert dead["reason"] == "poison record"
    assert b"poison" in dead["value"]


async def test_redacted_consumer_keeps_a_fingerprint_not_the_personal_data(
    tmp_path: Path, fresh_database: str, kafka_bootstrap: str
) -> None:
    [dead] = await _run(tmp_path, fresh_database, kafka_bootstrap, redact=True)
    assert b"Canary" not in dead["value"]
    fingerprint = json.loads(dead["value"])
    assert fingerprint["redacted"] is True and len(fingerprint["sha256"]) == 64
