"""Where a webhook may go: public addresses, plus the networks an operator allows."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from services.notify.targets import AddressPolicy, TargetRefused, check_target
from wijkbus.networks import parse_cidrs

PUBLIC = AddressPolicy()


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 (an address to refuse, not to bind)
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-public"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::a00:1", "private"),
    ],
)
def test_internal_addresses_are_refused_by_kind(address: str, kind: str) -> None:
    why = PUBLIC.refusal(ip_address(address))
    assert why is not None and kind in why


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2a00:1450:4001:82b::200e"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert PUBLIC.refusal(ip_address(address)) is None


def test_an_operator_allows_a_network_and_only_that_one() -> None:
    policy = AddressPolicy(parse_cidrs("127.0.0.0/8, ::1/128,10.20.0.0/16"))
    assert policy.refusal(ip_address("127.0.0.1")) is None
    assert policy.refusal(ip_address("::1")) is None
    assert policy.refusal(ip_address("::ffff:127.0.0.1")) is None
    assert policy.refusal(ip_address("10.20.3.4")) is None
    assert policy.refusal(ip_address("10.21.3.4")) is not None
    assert policy.refusal(ip_address("169.254.169.254")) is not None


def test_a_malformed_cidr_is_named() -> None:
    with pytest.raises(ValueError, match=r"10\.0\.0\.0/33"):
        parse_cidrs("127.0.0.0/8,10.0.0.0/33")
    assert parse_cidrs("") == ()


def fake_dns(*answers: str):  # type: ignore[no-untyped-def]
    async def lookup(host: str, port: int) -> list[str]:
        return list(answers)

    return lookup


async def test_a_name_resolving_to_loopback_is_refused() -> None:
    with pytest.raises(TargetRefused, match="loopback"):
        await check_target("https://hooks.example.nl/x", PUBLIC, fake_dns("127.0.0.1"))


async def test_one_internal_address_among_public_ones_refuses_the_name() -> None:
    # A rebinding resolver may answer a public and an internal address at once.
    with pytest.raises(TargetRefused, match="link-local"):
        await check_target(
            "https://hooks.example.nl/x", PUBLIC, fake_dns("93.184.215.14", "169.254.169.254")
        )


async def test_an_ip_literal_is_checked_without_a_lookup() -> None:
    with pytest.raises(TargetRefused, match="private"):
        await check_target("http://10.0.0.5:8080/x", PUBLIC, fake_dns("93.184.215.14"))
    with pytest.raises(TargetRefused, match="loopback"):
        await check_target("http://[::1]/x", PUBLIC, fake_dns())


async def test_the_request_goes_to_the_checked_address_with_the_name_kept() -> None:
    target = await check_target(
        "https://hooks.example.nl:8443/in?x=1", PUBLIC, fake_dns("93.184.215.14")
    )
    assert str(target.url) == "https://93.184.215.14:8443/in?x=1"
    assert target.host_header == "hooks.example.nl:8443"
    assert target.sni_hostname == "hooks.example.nl"
    plain = await check_target("http://hooks.example.nl/in", PUBLIC, fake_dns("2a00:1450::1"))
    assert str(plain.url) == "http://[2a00:1450::1]/in"
    assert (plain.host_header, plain.sni_hostname) == ("hooks.example.nl", None)


async def test_a_name_that_does_not_resolve_is_refused() -> None:
    async def failing(host: str, port: int) -> list[str]:
        raise OSError(-2, "Name or service not known")

    with pytest.raises(TargetRefused, match="does not resolve"):
        await check_target("https://nowhere.example.nl/", PUBLIC, failing)
