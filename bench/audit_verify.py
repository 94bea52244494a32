"""Tamper evidence at scale: seal and verify intake's event log of N accepted signals, beside
the raw rate of reading the same rows from PostgreSQL in the same run.

The log is filled directly (COPY) with the records intake would have logged, so only the chain
work is timed: `seal` (hashing and linking, in batches as the background sealer does) and
`verify` (recompute every content hash and link), against a plain keyset read of the same
rows that computes nothing.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from bench.routing_rebuild import accepted_signals
from services.intake import ledger, ledger_verify
from wijkbus import db
from wijkbus.infra import Backend

INTAKE = Path(__file__).resolve().parent.parent / "services" / "intake"


async def main(backend: Backend, quick: bool) -> list[str]:
    count = 20_000 if quick else 1_000_000
    name = f"bench_audit_{uuid.uuid4().hex[:8]}"
    url = backend.create_database(name)
    try:
        await db.migrate_url(url, "intake", INTAKE / "migrations")
        conn = await asyncpg.connect(url, server_settings={"search_path": "intake"})
        try:
            rows = (
                ("signals.accepted", key.decode(), value)
                for key, value in accepted_signals(count, datetime.now(UTC))
            )
            await conn.copy_records_to_table(
                "event_log", records=rows, columns=["topic", "key", "value"]
            )
            started = time.perf_counter()
            while await ledger.seal(conn, batch=5_000):
                pass
            seal_s = time.perf_counter() - started

            started = time.perf_counter()
            result = await ledger_verify.verify(conn)
            verify_s = time.perf_counter() - started
            assert result.intact and result.sealed == count, result

            started = time.perf_counter()
            read = 0
            after = 0
            while True:
                page = await conn.fetch(
                    "SELECT e.seq, e.position, e.topic, e.key, e.value, e.signal_id,"
                    " e.logged_at, e.redacted_at, e.content_hash, e.prev_hash, e.row_hash,"
                    " a.n, a.row_hash, a.at FROM event_log e LEFT JOIN ledger_acts a"
                    " ON a.kind = 'redaction' AND a.position = e.position"
                    " WHERE e.position > $1 ORDER BY e.position LIMIT 5000",
                    after,
                )
                read += len(page)
                if len(page) < 5000:
                    break
                after = page[-1]["position"]
            raw_s = time.perf_counter() - started
            assert read == count
        finally:
            await conn.close()
    finally:
        backend.drop_database(name)
    raw, verify = count / raw_s, count / verify_s
    return [
        f"audit_verify: {count:,} logged events",
        f"  seal     {count / seal_s:>10,.0f} rows/s",
        f"  verify   {verify:>10,.0f} rows/s  (ratio to raw read {verify / raw:.2f})",
        f"  raw read {raw:>10,.0f} rows/s  (keyset pages of the same rows, no hashing)",
    ]
