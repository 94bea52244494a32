"""Keep-alive connections: httpx.AsyncClients per target host, HTTP/2 where it is offered.

Clients per host keep one slow or failing receiver's connections from holding up another's,
and let each host's connections stay open between deliveries. HTTP/2 is negotiated over TLS
(ALPN): a receiver that offers it gets its deliveries multiplexed; plain http:// stays HTTP/1.1
with keep-alive.

A host's 64 connections are split over lanes of 8, each an httpx.AsyncClient of its own, filled
first-fit (so a quiet host uses the first lane's connections only), and a request waits here
for a free slot, never in httpcore's pool. httpcore looks over every connection of its pool
(polling each idle one's socket) whenever a request starts or ends: with one pool of 64 busy
connections that bookkeeping cost more CPU than the POST (50 subscriptions of one receiver,
8 in flight each); in pools of 8 it is an eighth.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

PER_LANE = 8
LANES = 8


@dataclass
class _Lane:
    client: httpx.AsyncClient
    in_use: int = 0


class Host:
    """One target host's lanes: at most LANES x PER_LANE requests under way at once."""

    def __init__(self, per_lane: int = PER_LANE, lanes: int = LANES) -> None:
        self._per_lane = per_lane
        # Redirects are not followed: a webhook answer is the subscriber's, not another host's.
        self._limits = httpx.Limits(
            max_connections=per_lane, max_keepalive_connections=per_lane, keepalive_expiry=30
        )
        self._slots = asyncio.Semaphore(per_lane * lanes)
        self._lanes: list[_Lane] = []

    @asynccontextmanager
    async def client(self) -> AsyncIterator[httpx.AsyncClient]:
        """A client with a connection free for one request, held until the block ends."""
        async with self._slots:
            lane = next((lane for lane in self._lanes if lane.in_use < self._per_lane), None)
            if lane is None:  # every lane is full, and the slots say there is room for one more
                client = httpx.AsyncClient(follow_redirects=False, http2=True, limits=self._limits)
                lane = _Lane(client)
                self._lanes.append(lane)
            lane.in_use += 1
            try:
                yield lane.client
            finally:
                lane.in_use -= 1

    @property
    def lanes(self) -> int:
        """How many lanes (clients) the host has opened so far."""
        return len(self._lanes)

    async def aclose(self) -> None:
        """Close every lane's connections."""
        lanes, self._lanes = self._lanes, []
        for lane in lanes:
            await lane.client.aclose()


class HostClients:
    """The hosts by origin (scheme, host, port), made on first use, closed together."""

    def __init__(self, per_lane: int = PER_LANE, lanes: int = LANES) -> None:
        self._per_lane, self._lanes = per_lane, lanes
        self._hosts: dict[tuple[str, str, int | None], Host] = {}

    def host(self, url: str) -> Host:
        """The host of `url`'s origin (as the subscriber wrote it, before any look-up)."""
        parsed = httpx.URL(url)
        origin = (parsed.scheme, parsed.host, parsed.port)
        host = self._hosts.get(origin)
        if host is None:
            host = self._hosts[origin] = Host(self._per_lane, self._lanes)
        return host

    async def aclose(self) -> None:
        """Close every host's connections."""
        hosts, self._hosts = list(self._hosts.values()), {}
        for host in hosts:
            await host.aclose()
