"""A feed stream that falls behind the announcements catches up from the log, missing nothing."""

from __future__ import annotations

import asyncio
import json

from contracts.events import ROUTING_ASSIGNED_TYPE
from services.notify import feed
from services.notify.app import build
from services.notify.broadcast import FeedBroadcaster
from tests.integration.test_notify_flow import assignment, settings_for
from tests.support import demo_registry, running_app, unique
from wijkbus import db


async def test_a_stream_that_fell_behind_gets_every_event_in_order(
    fresh_database: str, kafka_bootstrap: str
) -> None:
    registry, creds = demo_registry()
    settings = settings_for(fresh_database, kafka_bootstrap, creds)
    async with running_app(build(settings, partners=registry)):  # notify's schema, migrated
        pool = await db.create_pool(fresh_database, "notify")
        broadcaster = FeedBroadcaster(fresh_database, "notify", lambda: pool, queue_size=2)
        await broadcaster.start()
        try:
            stream = broadcaster.stream(None, None, heartbeat_s=0.2)
            assert b"verbonden" in await anext(stream)
            reading = asyncio.create_task(anext(stream))  # registered and waiting
            await asyncio.sleep(0.5)
            events = [assignment(unique("straat")) for _ in range(12)]
            for event in events:  # one transaction each: a queue of 2 overflows
                async with pool.acquire() as conn, conn.transaction():
                    await feed.announce(conn, [event], event.time)
            got = [await reading]
            async with asyncio.timeout(30):
                while len([m for m in got if m.startswith(b"id:")]) < len(events):
                    got.append(await anext(stream))
            await stream.aclose()
        finally:
            await broadcaster.stop()
            await pool.close()
    items = [json.loads(m.split(b"data: ", 1)[1]) for m in got if m.startswith(b"id:")]
    assert [i["id"] for i in items] == [e.id for e in events]
    assert {i["type"] for i in items} == {ROUTING_ASSIGNED_TYPE}
    seqs = [int(m.split(b"\n", 1)[0].removeprefix(b"id: ")) for m in got if m.startswith(b"id:")]
    assert seqs == sorted(seqs)
