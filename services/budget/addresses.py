"""Households' street and city, sealed in the vault: readable only where the letters are made.

Each household has its own data key, stored wrapped under the vault's key-encryption key
(BUDGET_VAULT_KEY) beside the sealed address; a household that leaves the register loses both,
so its address is shredded. Postcode and house number were in the register before and stay
in clear: they order the letters and compare a re-import.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wijkbus.vault import Vault, VaultError

VAULT_KEY_ENV = "BUDGET_VAULT_KEY"


class AddressError(Exception):
    """Sealed addresses cannot be sealed or opened as asked (message in English, for the CLI)."""


@dataclass(frozen=True)
class SealedAddress:
    """A household's street and city as stored: its wrapped data key and the ciphertext."""

    wrapped_key: bytes
    sealed: bytes


def _subject(address_id: str) -> str:
    return f"household:{address_id}"


def seal(vault: Vault, address_id: str, street: str, city: str) -> SealedAddress:
    """Seal a household's street and city under a new data key of its own."""
    key, wrapped = vault.new_subject_key(_subject(address_id))
    plaintext = json.dumps({"street": street, "city": city}, ensure_ascii=False).encode()
    return SealedAddress(wrapped, vault.seal(key, plaintext, _subject(address_id)))


def open_row(vault: Vault | None, row: Mapping[str, Any]) -> tuple[str, str]:
    """(street, city) of a household row with `address_id`, `address_key`, `address_sealed`.

    ("", "") when the register never gave them; AddressError when they are sealed and no
    vault key was given to open them.
    """
    wrapped, sealed = row["address_key"], row["address_sealed"]
    if wrapped is None or sealed is None:
        return "", ""
    if vault is None:
        raise AddressError(f"the households' addresses are sealed: set {VAULT_KEY_ENV}")
    subject = _subject(str(row["address_id"]))
    try:
        key = vault.unwrap(subject, bytes(wrapped))
        address = json.loads(vault.open(key, bytes(sealed), subject))
    except VaultError as exc:
        raise AddressError(
            f"{VAULT_KEY_ENV} is not the key the addresses were sealed with"
        ) from exc
    return str(address["street"]), str(address["city"])


def vault_from_env() -> Vault | None:
    """The vault of BUDGET_VAULT_KEY (the key the service seals with); None when it is unset."""
    value = os.environ.get(VAULT_KEY_ENV)
    try:
        return Vault.from_setting(value) if value else None
    except ValueError as exc:
        raise AddressError(
            f"{VAULT_KEY_ENV} is not a vault key (URL-safe base64, 32 bytes)"
        ) from exc
