"""Who a request comes from: X-Forwarded-For is believed only from a trusted proxy."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from wijkbus.networks import client_address, parse_cidrs
from wijkbus.settings import ServiceSettings

INGRESS = parse_cidrs("10.0.0.0/8, fd00::/8")


def test_without_trusted_proxies_the_peer_is_the_client_whatever_it_forwards() -> None:
    assert client_address("198.51.100.7", "203.0.113.1", ()) == "198.51.100.7"


def test_a_peer_that_is_not_a_trusted_proxy_cannot_claim_another_address() -> None:
    assert client_address("198.51.100.7", "203.0.113.1", INGRESS) == "198.51.100.7"


def test_behind_a_trusted_proxy_the_forwarded_client_counts() -> None:
    assert client_address("10.1.2.3", "203.0.113.1", INGRESS) == "203.0.113.1"


def test_a_client_cannot_get_around_the_proxy_by_forwarding_addresses_itself() -> None:
    # The client sent "X-Forwarded-For: 192.0.2.66"; the ingress appended the peer it saw.
    assert client_address("10.1.2.3", "192.0.2.66, 203.0.113.1", INGRESS) == "203.0.113.1"


def test_a_chain_of_trusted_proxies_is_walked_back_to_the_client() -> None:
    forwarded = "192.0.2.66, 2001:db8::5, fd00::17, 10.9.9.9"
    assert client_address("10.1.2.3", forwarded, INGRESS) == "2001:db8::5"


def test_only_trusted_hops_leave_the_furthest_one() -> None:
    assert client_address("10.1.2.3", "10.4.4.4", INGRESS) == "10.4.4.4"
    assert client_address("10.1.2.3", None, INGRESS) == "10.1.2.3"


def test_no_peer_at_all_is_unknown() -> None:
    assert client_address(None, None, ()) == "unknown"


def test_trusted_proxies_come_from_the_settings_and_a_malformed_one_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WIJKBUS_TRUSTED_PROXIES", "10.0.0.0/8,fd00::/8")
    assert ServiceSettings().trusted_networks() == INGRESS
    monkeypatch.setenv("WIJKBUS_TRUSTED_PROXIES", "10.0.0.0/33")
    with pytest.raises(ValidationError, match="not a CIDR network"):
        ServiceSettings()
