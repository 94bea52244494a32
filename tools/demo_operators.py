"""The demo stack's operator accounts: one per role, passwords in `.wijkbus/secrets.json`."""

from __future__ import annotations

import secrets
from pathlib import Path

import yaml

from wijkbus.operators import hash_password

# name → role: the names say the role, so a demo user knows which login to take.
DEMO_OPERATORS = {
    "beheer": "beheerder",
    "gebiedsmanager-oost": "gebiedsmanager",
    "budgetbeheer": "budgetbeheer",
    "kijker": "kijker",
}


def new_passwords() -> dict[str, str]:
    """A fresh random password for each demo operator."""
    return {name: secrets.token_urlsafe(12) for name in DEMO_OPERATORS}


def write_operator_registry(path: Path, passwords: dict[str, str]) -> Path:
    """Write the demo operator registry (password hashes only; the passwords stay out)."""
    entries = [
        {"name": name, "role": role, "password_scrypt": hash_password(passwords[name])}
        for name, role in DEMO_OPERATORS.items()
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(entries, sort_keys=False))
    return path


def logins(passwords: dict[str, str]) -> list[dict[str, str]]:
    """One login per role, as stack.json and `make run` show them."""
    return [
        {"name": name, "role": role, "password": passwords[name]}
        for name, role in DEMO_OPERATORS.items()
    ]
