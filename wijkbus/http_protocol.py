"""uvicorn's HTTP/1.1 protocol with a deadline on the request head.

uvicorn bounds how long an idle keep-alive connection stays open, but not how long a client may
take to send a request line and its headers: one byte every few seconds held a connection (and
its buffers) for as long as the client liked. This protocol answers 408 and closes a connection
whose request head is not complete within `head_timeout_s` of the connection, or of the first
byte of its next request. The body has its own deadline (`wijkbus.http.BodyTimeout`).
"""

from __future__ import annotations

import asyncio
from typing import Any

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
        super().connection_made(transport)
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


def with_head_timeout(seconds: float) -> type[HeadDeadline]:
    """The protocol class with this deadline (uvicorn takes a class, not an instance)."""
    return type("HeadDeadline", (HeadDeadline,), {"head_timeout_s": seconds})
