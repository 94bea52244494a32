"""Live feeds as server-sent events: the log's announcements fanned out to the open streams.

Each instance listens on one connection and hands what is announced to its streams in memory. A
stream resumes from the log after `Last-Event-ID`, and catches up from the log when it fell
behind, so it never misses an event; it stays open, with a comment every `heartbeat_s` to keep
proxies from closing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg

from services.notify import feed
from wijkbus.logging import get_logger

log = get_logger(__name__)

_QUEUE = 1000  # announcements a slow stream may fall behind before it catches up from the log
Item = tuple[int, dict[str, Any]]


class FeedBroadcaster:
    """Listens for announcements and fans them out to every open stream of this instance."""

    def __init__(
        self,
        database_url: str,
        schema: str,
        pool: Callable[[], asyncpg.Pool],
        *,
        queue_size: int = _QUEUE,
    ) -> None:
        self._database_url = database_url
        self._queue_size = queue_size
        self._channel = feed.channel(schema)
        self._pool = pool
        self._readers: set[asyncio.Queue[Item | None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._stopping = False

    async def start(self) -> None:
        """Start listening (returns once LISTEN is in place)."""
        self._stopping = False
        self._task = asyncio.create_task(self._listen(), name="notify-feed")
        await asyncio.wait_for(self._listening.wait(), 30)

    async def stop(self) -> None:
        """Stop listening and end every open stream."""
        self._stopping = True
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for reader in list(self._readers):
            self._readers.discard(reader)
            with contextlib.suppress(asyncio.QueueFull):
                reader.put_nowait(None)

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
                # Announcements are missed meanwhile; the streams find them in the log.
                log.warning("feed listener failed, reconnecting", error=repr(exc))
                await asyncio.sleep(1)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        item = feed.parse(payload)
        for reader in list(self._readers):
            try:
                reader.put_nowait(item)
            except asyncio.QueueFull:
                self._readers.discard(reader)  # its stream catches up from the log

    def _reader(self) -> asyncio.Queue[Item | None]:
        reader: asyncio.Queue[Item | None] = asyncio.Queue(self._queue_size)
        self._readers.add(reader)
        return reader

    async def stream(
        self, partner: str | None, last_event_id: int | None, *, heartbeat_s: float = 15.0
    ) -> AsyncIterator[bytes]:
        """Server-sent events for an operator (`partner` None: all) or one partner (its own),
        from after `last_event_id` (None: from now on)."""
        reader = self._reader()  # before reading the log: what commits later is queued
        try:
            yield b"retry: 3000\n: verbonden\n\n"
            async with self._pool().acquire() as conn:
                now = await feed.latest(conn)
            # An id from beyond the log (a log rebuilt since) must not hide the events to come.
            last = now if last_event_id is None else min(last_event_id, now)
            while True:
                async for seq, item in self._from_log(last):
                    last = seq
                    if _visible(item, partner):
                        yield _sse(seq, item)
                while reader in self._readers or not reader.empty():
                    try:
                        got = await asyncio.wait_for(reader.get(), heartbeat_s)
                    except TimeoutError:
                        yield b": ping\n\n"
                        continue
                    if got is None:
                        return
                    seq, item = got
                    if seq > last:
                        last = seq
                        if _visible(item, partner):
                            yield _sse(seq, item)
                if self._stopping:
                    return
                reader = self._reader()  # it fell behind: listen again, then catch up
        finally:
            self._readers.discard(reader)

    async def _from_log(self, after: int) -> AsyncIterator[Item]:
        """Every logged item after seq `after`, in order, a page at a time."""
        while True:
            async with self._pool().acquire() as conn:
                page = await feed.since(conn, after)
            for item in page:
                yield item
            if len(page) < feed.PAGE:
                return
            after = page[-1][0]


def _visible(item: dict[str, Any], partner: str | None) -> bool:
    return partner is None or partner in item["partners"]


def _sse(seq: int, item: dict[str, Any]) -> bytes:
    """One SSE message; its `id` (the log's seq) is what a reconnecting client sends back."""
    return f"id: {seq}\ndata: {json.dumps(item, separators=(',', ':'))}\n\n".encode()
