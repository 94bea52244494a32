"""What a live-feed announcement carries (event, partners, bounded size); how its streams end."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator

from contracts.envelope import CloudEvent
from contracts.events import ROUTING_ESCALATED_TYPE
from services.notify.feed import FeedBroadcaster, _sse, announcement


def escalation(reason: str) -> str:
    event = CloudEvent(
        specversion="1.0",
        id="ev-1",
        source="urn:nld:wijkbus:routing",
        type=ROUTING_ESCALATED_TYPE,
        subject="sig-1",
        data={
            "signal_id": "sig-1",
            "from_partner_id": "woonstichting-noord",
            "to_partner_id": "gemeente-groningen",
            "reason": reason,
        },
    )
    return announcement(event)


def test_an_escalation_concerns_both_partners() -> None:
    item = json.loads(escalation("te laat"))
    assert item["partners"] == ["gemeente-groningen", "woonstichting-noord"]
    assert item["data"]["reason"] == "te laat"
    assert item["type"] == ROUTING_ESCALATED_TYPE


def test_an_announcement_too_big_for_pg_notify_drops_its_data_but_keeps_the_partners() -> None:
    payload = escalation("x" * 20_000)
    assert len(payload.encode()) < 8000
    item = json.loads(payload)
    assert item["data"] is None
    assert item["partners"] == ["gemeente-groningen", "woonstichting-noord"]


def test_a_server_sent_event_cannot_be_split_by_a_line_break_in_the_id() -> None:
    message = _sse({"id": "a\nevent: nep", "type": "t", "partners": []}).decode()
    assert message.startswith("id: a event: nep\ndata: {")
    assert message.endswith("\n\n") and message.count("\n") == 3


CONNECTED = b"retry: 3000\n: verbonden\n\n"


async def rest(stream: AsyncIterator[bytes]) -> list[bytes]:
    """What a stream still sends before it ends (fails instead of waiting for a heartbeat)."""
    async with asyncio.timeout(5):
        return [chunk async for chunk in stream]


async def test_closing_ends_the_open_streams_and_any_opened_later() -> None:
    feed = FeedBroadcaster("postgresql://never-connected", "notify")
    open_stream = feed.stream(None, heartbeat_s=60)
    assert await anext(open_stream) == CONNECTED
    feed.close_streams()
    assert await rest(open_stream) == []
    assert await rest(feed.stream("politie-groningen", heartbeat_s=60)) == [CONNECTED]


async def test_a_stop_signal_closes_the_streams_then_reaches_the_servers_handler() -> None:
    feed = FeedBroadcaster("postgresql://never-connected", "notify")
    server_saw: list[int] = []
    before = {
        sig: signal.signal(sig, lambda signum, _frame: server_saw.append(signum))
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        feed.close_streams_on_exit_signals()
        open_stream = feed.stream(None, heartbeat_s=60)
        assert await anext(open_stream) == CONNECTED
        signal.raise_signal(signal.SIGTERM)
        assert server_saw == [signal.SIGTERM]
        assert await rest(open_stream) == []
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
