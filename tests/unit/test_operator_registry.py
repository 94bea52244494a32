"""The operator registry: accounts with a role, passwords only as scrypt hashes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml

from wijkbus.operators import (
    OperatorRegistryError,
    hash_password,
    load_operators,
    password_matches,
)


def registry_file(tmp_path: Path, entries: list[dict[str, str]]) -> Path:
    path = tmp_path / "operators.yaml"
    path.write_text(yaml.safe_dump(entries))
    return path


def test_a_password_is_stored_salted_and_only_its_own_password_matches() -> None:
    stored, again = hash_password("geheim-1"), hash_password("geheim-1")
    assert stored != again and "geheim-1" not in stored  # a salt of its own each time
    assert password_matches("geheim-1", stored) and password_matches("geheim-1", again)
    assert not password_matches("geheim-2", stored)
    assert not password_matches("g\u00e9heim-1", stored)  # any text is a wrong password


def test_an_operator_logs_in_with_their_own_name_and_password_only(tmp_path: Path) -> None:
    path = registry_file(tmp_path, [
        {"name": "anne", "role": "beheerder", "password_scrypt": hash_password("a-pass")},
        {"name": "bram", "role": "kijker", "password_scrypt": hash_password("b-pass")},
    ])  # fmt: skip
    registry = load_operators(path)
    found = registry.login("bram", "b-pass")
    assert found is not None and (found.name, found.role) == ("bram", "kijker")
    assert registry.login("bram", "a-pass") is None
    assert registry.login("carla", "a-pass") is None
    assert load_operators(None).operators == {}  # no file: no accounts (the token logs in)


def test_a_broken_registry_stops_the_service_naming_each_problem(tmp_path: Path) -> None:
    good = hash_password("x")
    path = registry_file(tmp_path, [
        {"name": "anne", "role": "beheerder", "password_scrypt": good},
        {"name": "anne", "role": "kijker", "password_scrypt": good},
        {"name": "bram", "role": "baas", "password_scrypt": good},
        {"name": "carla", "role": "kijker", "password": "plain"},
    ])  # fmt: skip
    with pytest.raises(OperatorRegistryError) as refused:
        load_operators(path)
    message = str(refused.value)
    assert "operator anne: duplicate name" in message
    assert "entry 2: role" in message
    assert "entry 3: password_scrypt: Field required" in message
    assert "entry 3: password: Extra inputs are not permitted" in message
    assert "plain" not in message
    with pytest.raises(OperatorRegistryError, match="cannot read operator registry"):
        load_operators(tmp_path / "missing.yaml")


def test_a_changed_registry_file_counts_from_the_next_lookup_and_a_broken_one_is_refused(
    tmp_path: Path,
) -> None:
    anne = {"name": "anne", "role": "beheerder", "password_scrypt": hash_password("a-pass")}
    path = registry_file(tmp_path, [anne])
    registry = load_operators(path)
    path.write_text(yaml.safe_dump([{**anne, "role": "kijker"}]))
    os.utime(path, (time.time() + 10, time.time() + 10))
    found = registry.get("anne")
    assert found is not None and found.role == "kijker"
    path.write_text("- name: [kapot")
    os.utime(path, (time.time() + 20, time.time() + 20))
    assert registry.login("anne", "a-pass") is not None  # the old registry stays
    path.write_text(yaml.safe_dump([]))
    os.utime(path, (time.time() + 30, time.time() + 30))
    assert registry.get("anne") is None
