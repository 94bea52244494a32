"""The benchmark's partner back-office, as a process of its own: `python -m bench.webhook_receiver
PORT`. Answers every POST 204 and notes when each assignment in it arrived (epoch seconds);
`GET /?since=N` gives those after the N-th, with the counts of requests and assignments."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn

ASSIGNED = "nl.wijkaanpak.routing.assigned"
Scope = dict[str, Any]


class Receiver:
    """A bare ASGI webhook receiver (a single event or a batch's array)."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, str]] = []
        self.requests = 0

    async def __call__(
        self, scope: Scope, receive: Callable[[], Awaitable[Scope]], send: Any
    ) -> None:
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if scope["method"] == "GET":
            since = int(scope["query_string"].decode().partition("=")[2] or 0)
            answer = {
                "requests": self.requests,
                "count": len(self.arrivals),
                "arrivals": self.arrivals[since:],
            }
            await _answer(send, 200, json.dumps(answer).encode())
            return
        at = time.time()
        self.requests += 1
        parsed = json.loads(body)
        for event in parsed if isinstance(parsed, list) else [parsed]:
            if event.get("type") == ASSIGNED:
                self.arrivals.append((at, event["data"]["signal_id"]))
        await _answer(send, 204, b"")


async def _answer(send: Any, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json")] if body else []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    uvicorn.run(
        Receiver(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
        access_log=False, lifespan="off",
    )  # fmt: skip
