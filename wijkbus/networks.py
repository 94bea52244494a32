"""IP networks from settings, and who a request really comes from behind trusted proxies."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from starlette.requests import Request

Network = IPv4Network | IPv6Network


def parse_cidrs(text: str | Iterable[str]) -> tuple[Network, ...]:
    """Networks from 'a/b, c/d' (or a list); ValueError names a malformed one."""
    items = text.split(",") if isinstance(text, str) else list(text)
    networks = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        try:
            networks.append(ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"not a CIDR network: {item!r}") from None
    return tuple(networks)


@lru_cache(maxsize=4096)  # every request asks, mostly about the same few peers
def _within(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in net for net in networks)


def client_address(
    peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]
) -> str:
    """The caller's address: the peer itself, unless the peer is a trusted proxy; then the
    nearest X-Forwarded-For hop that is not a trusted proxy (hops further left are whatever the
    client claimed, so they are never believed over a nearer one)."""
    hops = [h.strip() for h in (forwarded_for or "").split(",") if h.strip()]
    hops.append(peer or "unknown")
    for hop in reversed(hops):
        if not _within(hop, trusted):
            return hop
    return hops[0]


def client_of(request: Request) -> str:
    """Who is calling: the peer, or the forwarded client behind a trusted proxy."""
    peer = request.client.host if request.client else None
    trusted = request.app.state.settings.trusted_networks()
    return client_address(peer, request.headers.get("x-forwarded-for"), trusted)
