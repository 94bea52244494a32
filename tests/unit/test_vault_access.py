"""Who may read a sealed person, and the dev stack's vault key (no I/O but a temp file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.intake.domain import SignalState, may_read_person
from tools.devstack import DEMO_PARTNERS, DemoCredentials
from wijkbus.partners import Partner
from wijkbus.vault import Vault


def _partner(partner_id: str) -> Partner:
    spec = next(p for p in DEMO_PARTNERS if p["id"] == partner_id)
    return Partner(**spec, api_key_sha256="0" * 64, signing_secret_env="UNUSED")


@pytest.mark.parametrize(
    ("partner_id", "assigned", "allowed"),
    [
        ("wij-groningen", "wij-groningen", True),  # may read and is assigned
        ("wij-groningen", "politie-groningen", False),  # may read, but not assigned
        ("wij-groningen", None, False),  # nobody assigned yet
        ("politie-groningen", "politie-groningen", False),  # assigned, but may not read
        ("woonstichting-noord", "wij-groningen", False),  # the sender
    ],
)
def test_only_the_assigned_partner_with_the_right_may_read_a_person(
    partner_id: str, assigned: str | None, allowed: bool
) -> None:
    signal = SignalState("5f0c8a4e-0000-4000-8000-000000000001", assigned)
    assert may_read_person(_partner(partner_id), signal) is allowed


def test_nobody_may_read_the_person_of_an_unknown_signal() -> None:
    assert may_read_person(_partner("wij-groningen"), None) is False


def test_an_old_secrets_file_still_loads_and_gains_a_lasting_vault_key(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    old = DemoCredentials.load_or_create(path).__dict__
    del old["vault_key"]
    path.write_text(json.dumps(old))
    first = DemoCredentials.load_or_create(path)
    assert first.api_keys == old["api_keys"]
    Vault.from_setting(first.vault_key)  # a valid master key
    assert DemoCredentials.load_or_create(path).vault_key == first.vault_key
