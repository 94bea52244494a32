"""An answer's writes within one turn of the event loop go out as one send, in order."""

from __future__ import annotations

import asyncio
from typing import Any

from wijkbus.http_protocol import Coalescing


class _Transport:
    """Records what the protocol sends."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.closed = self.aborted = False

    def write(self, data: bytes) -> None:
        self.sent.append(data)

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

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
    assert real.sent[-1] == b"next" and real.closed
    assert corked.get_extra_info("sockname") == ("127.0.0.1", 8003)  # the rest is the transport's


async def test_abort_drops_what_is_pending() -> None:
    real = _Transport()
    corked = Coalescing(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    corked.write(b"half an answer")
    corked.abort()
    await asyncio.sleep(0)
    assert real.sent == [] and real.aborted
