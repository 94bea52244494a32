"""Live feeds: consumed events announced at commit (pg_notify) and streamed as server-sent events.

The consumer announces each event inside its transaction, so PostgreSQL delivers the announcement
only once the event is committed, and to every notify instance. Each instance listens on one
connection and hands the announcements to the open streams in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import asyncpg

from contracts.envelope import CloudEvent
from wijkbus.logging import get_logger

log = get_logger(__name__)

_PAYLOAD_LIMIT = 7900  # pg_notify refuses payloads of 8000 bytes and more
_QUEUE = 1000  # announcements a slow reader may fall behind before its stream is ended
_PARTNER_FIELDS = ("partner_id", "to_partner_id", "from_partner_id")


def channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel of the feed."""
    return f"{schema}_feed"


def announcement(event: CloudEvent) -> str:
    """What a feed shows of an event, as the NOTIFY payload: the envelope, partners and data."""
    data = event.data if isinstance(event.data, Mapping) else {}
    item: dict[str, Any] = {
        "id": event.id,
        "type": event.type,
        "source": event.source,
        "subject": event.subject,
        "time": event.time.isoformat() if event.time else None,
        "partners": _partners(data),
        "data": data,
    }
    payload = json.dumps(item, separators=(",", ":"), default=str)
    if len(payload.encode()) > _PAYLOAD_LIMIT:
        payload = json.dumps({**item, "data": None}, separators=(",", ":"), default=str)
    return payload


def _partners(data: Mapping[str, Any]) -> list[str]:
    """The partners an event concerns: those it names, and a wijkhub's partners taking part."""
    named = {str(data[f]) for f in _PARTNER_FIELDS if data.get(f)}
    taking_part = data.get("partners")
    if isinstance(taking_part, list | tuple):
        named.update(str(p) for p in taking_part if p)
    return sorted(named)


async def announce(conn: asyncpg.Connection, events: list[CloudEvent]) -> None:
    """Announce `events`, in order, to the live feeds once the surrounding transaction commits."""
    if not events:
        return
    await conn.execute(
        "SELECT pg_notify(current_schema() || '_feed', p)"
        " FROM unnest($1::text[]) WITH ORDINALITY AS u(p, n) ORDER BY n",
        [announcement(event) for event in events],
    )


class FeedBroadcaster:
    """Listens for announcements and fans them out to every open stream of this instance."""

    def __init__(self, database_url: str, schema: str) -> None:
        self._database_url = database_url
        self._channel = channel(schema)
        self._readers: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()

    async def start(self) -> None:
        """Start listening (returns once LISTEN is in place)."""
        self._task = asyncio.create_task(self._listen(), name="notify-feed")
        await asyncio.wait_for(self._listening.wait(), 30)

    async def stop(self) -> None:
        """Stop listening and end every open stream."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for reader in list(self._readers):
            _end(reader)

    async def _listen(self) -> None:
        while True:
            try:
                conn = await asyncpg.connect(self._database_url)
                try:
                    closed = asyncio.Event()
                    conn.add_termination_listener(lambda _conn, ended=closed: ended.set())
                    await conn.add_listener(self._channel, self._on_notify)
                    self._listening.set()
                    await closed.wait()
                finally:
                    with contextlib.suppress(Exception):
                        await conn.close()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("feed listener failed, reconnecting", error=repr(exc))
                await asyncio.sleep(1)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        item = json.loads(payload)
        for reader in list(self._readers):
            try:
                reader.put_nowait(item)
            except asyncio.QueueFull:
                # The browser reconnects on its own; a reader that cannot keep up must not grow.
                self._readers.discard(reader)
                _end(reader)

    async def stream(
        self, partner: str | None, *, heartbeat_s: float = 15.0, max_s: float = 300.0
    ) -> AsyncIterator[bytes]:
        """Server-sent events for an operator (`partner` None: all) or one partner (its own)."""
        reader: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(_QUEUE)
        self._readers.add(reader)
        ends = time.monotonic() + max_s
        try:
            yield b"retry: 3000\n: verbonden\n\n"
            while (left := ends - time.monotonic()) > 0:
                try:
                    item = await asyncio.wait_for(reader.get(), min(heartbeat_s, left))
                except TimeoutError:
                    if reader not in self._readers:  # dropped for falling behind
                        return
                    yield b": ping\n\n"
                    continue
                if item is None:
                    return
                if partner is None or partner in item["partners"]:
                    yield _sse(item)
        finally:
            self._readers.discard(reader)


def _end(reader: asyncio.Queue[dict[str, Any] | None]) -> None:
    with contextlib.suppress(asyncio.QueueFull):
        reader.put_nowait(None)


def _sse(item: dict[str, Any]) -> bytes:
    """One SSE message; `id` lets a browser say where it was (line breaks removed)."""
    event_id = " ".join(str(item["id"]).split())
    return f"id: {event_id}\ndata: {json.dumps(item, separators=(',', ':'))}\n\n".encode()
