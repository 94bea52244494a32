"""Keep-alive connections: one httpx.AsyncClient per target host, HTTP/2 where it is offered.

A client per host keeps one slow or failing receiver's connection pool from holding up another's,
and lets each host's connections stay open between deliveries. HTTP/2 is negotiated over TLS
(ALPN): a receiver that offers it gets every delivery multiplexed on one connection; plain
http:// stays HTTP/1.1 with keep-alive.
"""

from __future__ import annotations

import httpx

# Redirects are not followed: a webhook answer is the subscriber's, not another host's.
_LIMITS = httpx.Limits(max_connections=64, max_keepalive_connections=64, keepalive_expiry=30)


class HostClients:
    """The clients by origin (scheme, host, port), made on first use, closed together."""

    def __init__(self, limits: httpx.Limits = _LIMITS) -> None:
        self._limits = limits
        self._clients: dict[tuple[str, str, int | None], httpx.AsyncClient] = {}

    def for_url(self, url: str) -> httpx.AsyncClient:
        """The client for `url`'s origin (as the subscriber wrote it, before any look-up)."""
        parsed = httpx.URL(url)
        origin = (parsed.scheme, parsed.host, parsed.port)
        client = self._clients.get(origin)
        if client is None:
            client = self._clients[origin] = httpx.AsyncClient(
                follow_redirects=False, http2=True, limits=self._limits
            )
        return client

    async def aclose(self) -> None:
        """Close every client's connections."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
