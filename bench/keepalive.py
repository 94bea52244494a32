"""A minimal HTTP/1.1 keep-alive client for benchmarks: one connection, one request at a time.

The client shares the machine with the service it measures; httpx spends several times the CPU
of the request itself on its own machinery, which a benchmark would count against the service.
This client writes the request bytes and reads the status line, the headers and a
Content-Length body, nothing more. It speaks to our own uvicorn only (no chunked answers).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any


class ProtocolError(Exception):
    """The server answered something this client does not read (or closed mid-answer)."""


class KeepAlive:
    """One keep-alive connection to `host:port`; reconnects after the server closed it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post_json(self, path: str, body: Any) -> int:
        """POST `body` as JSON to `path`; the answer's status (its body is read and dropped)."""
        data = json.dumps(body).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        ).encode()
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        try:
            writer.write(head + data)
            return await self._answer(reader)
        except BaseException:
            self.close()  # a half-read answer leaves the connection unusable
            raise

    async def _answer(self, reader: asyncio.StreamReader) -> int:
        status_line = await reader.readline()
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise ProtocolError(f"no status line: {status_line[:40]!r}")
        length, close = 0, False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection":
                close = value.strip().lower() == b"close"
            elif name == b"transfer-encoding":
                raise ProtocolError("chunked answer")
        await reader.readexactly(length)
        if close:
            self.close()
        return int(parts[1])

    def close(self) -> None:
        """Close the connection (the next request opens a new one)."""
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None
