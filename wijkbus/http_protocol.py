"""uvicorn's HTTP/1.1 protocol with a deadline on the request head.

uvicorn bounds how long an idle keep-alive connection stays open, but not how long a client may
take to send a request line and its headers: one byte every few seconds held a connection (and
its buffers) for as long as the client liked. This protocol answers 408 and closes a connection
whose request head is not complete within `head_timeout_s` of the connection, or of the first
byte of its next request. The body has its own deadline (`wijkbus.http.BodyTimeout`). The
writes of one turn of the loop go out as one send (`Coalescing`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, cast

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class HeadDeadline(H11Protocol):
    """H11Protocol that closes a connection dripping its request head (see the module)."""

    head_timeout_s: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(cast(asyncio.Transport, Coalescing(transport, self.loop)))
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            self._arm()  # the start (or more) of a request head
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm()  # the head is complete: the app and BodyTimeout take over

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._head_deadline is None:
            self._head_deadline = self.loop.call_later(self.head_timeout_s, self._timed_out)

    def _disarm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _timed_out(self) -> None:
        self._head_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.write(_TIMED_OUT)
            self.transport.close()


class Coalescing:
    """A transport that sends the writes of one turn of the event loop as one: uvicorn writes an
    answer's head and its body separately, two system calls where one does."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport, self._loop = transport, loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        """Send `data` with whatever else is written in this turn of the loop."""
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(bytes(data))

    def writelines(self, chunks: Iterable[bytes]) -> None:
        """`write` each of `chunks`, in order."""
        for chunk in chunks:
            self.write(chunk)

    def write_eof(self) -> None:
        """Send what is pending, then end the sending side."""
        self._flush()
        self._transport.write_eof()

    def close(self) -> None:
        """Send what is pending, then close (the real transport sends its buffer first)."""
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        """Close at once, dropping what is pending."""
        self._pending.clear()
        self._transport.abort()

    def _flush(self) -> None:
        if self._pending and not self._transport.is_closing():
            self._transport.write(b"".join(self._pending))
        self._pending.clear()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def with_head_timeout(seconds: float) -> type[HeadDeadline]:
    """The protocol class with this deadline (uvicorn takes a class, not an instance)."""
    return type("HeadDeadline", (HeadDeadline,), {"head_timeout_s": seconds})
