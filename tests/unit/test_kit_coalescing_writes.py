"""An answer's writes within one turn of the event loop go out as one send, in order; a close
ends the sending side first and closes the socket after the linger."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from wijkbus import http_protocol
from wijkbus.http_protocol import Coalescing


class _Transport:
    """Records what the protocol sends."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.closed = self.aborted = self.eof = False
        self.can_eof = True

    def write(self, data: bytes) -> None:
        self.sent.append(data)

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def can_write_eof(self) -> bool:
        return self.can_eof

    def write_eof(self) -> None:
        self.eof = True

    def resume_reading(self) -> None:
        pass

    def abort(self) -> None:
        self.aborted = True

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 8003) if name == "sockname" else None


async def test_writes_of_one_turn_are_one_send_and_close_sends_what_is_pending_first() -> None:
    real = _Transport()
    corked = Coalescing(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    corked.write(b"HTTP/1.1 201 Created\r\n\r\n")
    corked.write(b"")
    corked.writelines([b"{", b"}"])
    assert real.sent == []
    await asyncio.sleep(0)
    assert real.sent == [b"HTTP/1.1 201 Created\r\n\r\n{}"]
    corked.write(b"next")
    corked.close()
    assert real.sent[-1] == b"next" and real.eof and corked.is_closing()
    assert corked.get_extra_info("sockname") == ("127.0.0.1", 8003)  # the rest is the transport's


async def test_abort_drops_what_is_pending() -> None:
    real = _Transport()
    corked = Coalescing(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    corked.write(b"half an answer")
    corked.abort()
    await asyncio.sleep(0)
    assert real.sent == [] and real.aborted


async def test_a_close_lingers_then_closes_and_a_second_close_is_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(http_protocol, "LINGER_S", 0.05)
    real = _Transport()
    corked = Coalescing(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    corked.write(b"HTTP/1.1 408 Request Timeout\r\n\r\n")
    corked.close()
    corked.write(b"written after the close")  # uvicorn's, after it decided to close: dropped
    assert real.eof and not real.closed  # the client can still read the answer
    await asyncio.sleep(0.1)
    assert real.closed and real.sent == [b"HTTP/1.1 408 Request Timeout\r\n\r\n"]

    shut = _Transport()
    corked = Coalescing(shut, asyncio.get_running_loop())  # type: ignore[arg-type]
    corked.close()
    corked.close()  # the server shutting down does not wait for the linger
    assert shut.eof and shut.closed


async def test_a_transport_that_cannot_end_its_sending_side_is_closed_at_once() -> None:
    real = _Transport()
    real.can_eof = False
    corked = Coalescing(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    corked.write(b"bye")
    corked.close()
    assert real.sent == [b"bye"] and real.closed and not real.eof
