"""uvicorn's HTTP/1.1 protocol (httptools) with bounds on the request head and a lingering close.

uvicorn bounds how long an idle keep-alive connection stays open, but not how long a client may
take to send a request line and its headers, nor how large they may be: one byte every few
seconds held a connection (and its buffers) for as long as the client liked. This protocol
answers 408 and closes a connection whose request head is not complete within `head_timeout_s`
of the connection, or of the first byte of its next request, and 431 when the head grows past
`max_head_bytes`. The body has its own deadline (`wijkbus.http.BodyTimeout`).

The writes of one turn of the loop go out as one send (`Coalescing`). A connection the server
closes while the client is still sending (an answer before the whole body, such as a 408 or a
413) is closed the way nginx does: the sending side first, then what still arrives is read and
dropped for a moment before the socket is closed. Closed at once, the next byte from the client
makes the kernel reset the connection, and a reset can destroy the answer before the client has
read it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-length: 0\r\nconnection: close\r\n\r\n"
)
LINGER_S = 2.0  # how long a closed connection still reads (and drops) what its client sends


class HeadDeadline(HttpToolsProtocol):
    """HttpToolsProtocol that cuts off a dripping or oversized request head (see the module)."""

    head_timeout_s: float = 10.0
    max_head_bytes: int = 64 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._head_bytes = 0
        self._corked: Coalescing | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._corked = Coalescing(transport, self.loop)
        super().connection_made(cast(asyncio.Transport, self._corked))
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._corked is not None and self._corked.lingering:
            return  # after the answer that closed the connection: read and dropped
        if self._head_deadline is not None:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._head_deadline is not None and self._head_bytes > self.max_head_bytes:
            self._refuse(_TOO_LARGE)

    def on_message_begin(self) -> None:
        self._arm()  # the first byte of a request head
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._disarm()  # the head is complete: the app and BodyTimeout take over
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._corked is not None:
            self._corked.lost()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._head_deadline is None:
            self._head_bytes = 0
            self._head_deadline = self.loop.call_later(self.head_timeout_s, self._timed_out)

    def _disarm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _timed_out(self) -> None:
        self._head_deadline = None
        self._refuse(_TIMED_OUT)

    def _refuse(self, answer: bytes) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self.transport.write(answer)
            self.transport.close()


class Coalescing:
    """A transport that sends the writes of one turn of the event loop as one (uvicorn writes an
    answer's head and its body separately, two system calls where one does), and closes with a
    linger (see the module)."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport, self._loop = transport, loop
        self._pending: list[bytes] = []
        self._linger: asyncio.TimerHandle | None = None
        self.lingering = False

    def write(self, data: bytes) -> None:
        """Send `data` with whatever else is written in this turn of the loop."""
        if not data or self.lingering:
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

    def is_closing(self) -> bool:
        """Whether `close` was called (a lingering connection is closing)."""
        return self.lingering or self._transport.is_closing()

    def close(self) -> None:
        """Send what is pending, end the sending side, and close after the linger; a second
        close (the server shutting down) closes at once."""
        self._flush()
        if self.lingering or self._transport.is_closing() or not self._transport.can_write_eof():
            self._close_now()
            return
        self.lingering = True
        self._transport.write_eof()  # the real transport sends its buffer first
        self._transport.resume_reading()  # uvicorn may have paused it: the linger reads
        self._linger = self._loop.call_later(LINGER_S, self._close_now)

    def abort(self) -> None:
        """Close at once, dropping what is pending."""
        self._pending.clear()
        self._cancel_linger()
        self._transport.abort()

    def lost(self) -> None:
        """The connection is gone (the client closed too): nothing left to linger for."""
        self._cancel_linger()

    def _close_now(self) -> None:
        self._cancel_linger()
        self._transport.close()

    def _cancel_linger(self) -> None:
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None

    def _flush(self) -> None:
        if self._pending and not self._transport.is_closing():
            self._transport.write(b"".join(self._pending))
        self._pending.clear()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def with_head_timeout(seconds: float) -> type[HeadDeadline]:
    """The protocol class with this deadline (uvicorn takes a class, not an instance)."""
    return type("HeadDeadline", (HeadDeadline,), {"head_timeout_s": seconds})
