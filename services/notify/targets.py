"""Where notify may send a webhook: the address policy (pure) and the look-up that applies it.

A subscriber chooses the callback URL, so without a policy notify would POST, on a partner's
behalf, to its own loopback, the cloud's metadata service or the municipality's internal
network. Only public addresses are allowed, plus the networks an operator names
(NOTIFY_ALLOW_CIDRS). The host is resolved at every send, every address it resolves to is
checked, and the connection goes to the checked address, so a DNS answer that changes between
the check and the connection (rebinding) cannot move a delivery inside.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

import httpx

from wijkbus.networks import Network

Address = IPv4Address | IPv6Address
Lookup = Callable[[str, int], Awaitable[list[str]]]

# The first that applies names the refusal; the order puts the most telling name first.
_KINDS: tuple[tuple[str, str], ...] = (
    ("is_unspecified", "an unspecified"),
    ("is_loopback", "a loopback"),
    ("is_link_local", "a link-local (cloud metadata)"),
    ("is_multicast", "a multicast"),
    ("is_reserved", "a reserved"),
    ("is_private", "a private"),
)
_NAT64 = ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses only, unless an operator allowed a network explicitly."""

    allowed: tuple[Network, ...] = ()

    def refusal(self, address: Address) -> str | None:
        """Why notify must not send to `address` (e.g. 'a loopback address'); None if it may."""
        if any(address in net for net in self.allowed if net.version == address.version):
            return None
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return self.refusal(embedded)
        for test, kind in _KINDS:
            if getattr(address, test):
                return f"{kind} address"
        if not address.is_global:  # shared (100.64/10), documentation, benchmarking ranges
            return "a non-public address"
        return None


def _embedded_ipv4(address: Address) -> IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d) or NAT64 IPv6 address."""
    if not isinstance(address, IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


class TargetRefused(Exception):
    """The callback URL's host is, or resolves to, an address the policy refuses."""


@dataclass(frozen=True)
class Target:
    """A checked destination: the URL with the host replaced by the checked address, and
    what the request must still say about the name (Host header, TLS server name)."""

    url: httpx.URL
    host_header: str
    sni_hostname: str | None


async def system_lookup(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host`."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def check_target(url: str, policy: AddressPolicy, lookup: Lookup = system_lookup) -> Target:
    """Resolve `url`'s host and check every address; the target to connect to, or
    TargetRefused when any address is refused (a mixed answer is refused as a whole)."""
    parsed = httpx.URL(url)
    host = parsed.host
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        addresses = [ip_address(host)]
        named = False
    except ValueError:
        try:
            addresses = [ip_address(a.split("%", 1)[0]) for a in await lookup(host, port)]
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise TargetRefused(f"the host {host!r} does not resolve ({reason})") from None
        named = True
    if not addresses:
        raise TargetRefused(f"the host {host!r} does not resolve")
    for address in addresses:
        why = policy.refusal(address)
        if why is not None:
            shown = f"{host!r} resolves to {why}" if named else f"{host!r} is {why}"
            raise TargetRefused(f"callback_url's host {shown}, which notify does not send to")
    checked = addresses[0]
    return Target(
        url=parsed.copy_with(host=str(checked)),
        host_header=parsed.netloc.decode("ascii"),
        sni_hostname=host if named and parsed.scheme == "https" else None,
    )
