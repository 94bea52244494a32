"""The personal-data vault: AES-GCM per data subject, keys wrapped under a master key.

A person is sealed under the data key of its subject; the data key is stored only wrapped under a
key-encryption key derived from the master key (INTAKE_VAULT_KEY). Erasing a subject deletes its
wrapped key (crypto-shredding): no copy of the ciphertext, in the database or a backup of it, can
be opened again. The tables live in intake's schema (its migration 0002); the queries are here so
that the `wijkbus erase` command shares them without importing a service.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = b"\x01"
_NONCE = 12


class VaultError(Exception):
    """A sealed value cannot be opened: wrong master key or tampered data."""


class PersonErased(Exception):
    """The person's subject was erased: its key is gone, so the data is gone."""


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


def _normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _phone_digits(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    # +31 6..., 0031 6... and 06... are one number.
    for prefix in ("0031", "31"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 9:
            return "0" + digits[len(prefix) :]
    return digits


@dataclass(frozen=True)
class Vault:
    """Seals and opens personal data; holds the keys derived from the master key."""

    kek: bytes
    pepper: bytes

    @classmethod
    def from_master_key(cls, master: bytes) -> Vault:
        """A vault from a 32-byte master key."""
        if len(master) != 32:
            raise ValueError("the vault master key must be 32 bytes")
        return cls(
            kek=_derive(master, b"wijkbus vault key-encryption key v1"),
            pepper=_derive(master, b"wijkbus vault subject reference v1"),
        )

    @classmethod
    def from_setting(cls, value: str) -> Vault:
        """A vault from INTAKE_VAULT_KEY: 32 bytes, URL-safe base64 (see `new_master_key`)."""
        try:
            master = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except ValueError as exc:
            raise ValueError("INTAKE_VAULT_KEY is not URL-safe base64") from exc
        return cls.from_master_key(master)

    @classmethod
    def ephemeral(cls) -> Vault:
        """A vault with a random master key: sealed data is unreadable once it is dropped."""
        return cls.from_master_key(os.urandom(32))

    def subject_ref(self, name: str, phone: str | None, email: str | None) -> str:
        """The pseudonymous reference of a data subject: an HMAC of name and contact."""
        contact = email.strip().casefold() if email else _phone_digits(phone or "")
        message = f"{_normalise(name)}\x1f{contact}".encode()
        return "subj_" + hmac.new(self.pepper, message, hashlib.sha256).hexdigest()[:40]

    def new_subject_key(self, subject_ref: str) -> tuple[bytes, bytes]:
        """A fresh data key for a subject, and that key wrapped for storage."""
        key = AESGCM.generate_key(bit_length=256)
        return key, _seal(self.kek, key, subject_ref.encode())

    def unwrap(self, subject_ref: str, wrapped: bytes | None) -> bytes:
        """The subject's data key; PersonErased when it was shredded."""
        if wrapped is None:
            raise PersonErased(subject_ref)
        return _open(self.kek, wrapped, subject_ref.encode())

    def seal(self, key: bytes, plaintext: bytes, context: str) -> bytes:
        """Encrypt `plaintext` under a data key, bound to `context` (e.g. the signal id)."""
        return _seal(key, plaintext, context.encode())

    def open(self, key: bytes | None, sealed: bytes | None, context: str) -> bytes:
        """Decrypt what `seal` made; PersonErased when the key or the ciphertext is gone."""
        if key is None or sealed is None:
            raise PersonErased(context)
        return _open(key, sealed, context.encode())


def new_master_key() -> str:
    """A new random master key in the form INTAKE_VAULT_KEY takes."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return _VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    if sealed[:1] != _VERSION:
        raise VaultError("unknown vault format")
    nonce, body = sealed[1 : 1 + _NONCE], sealed[1 + _NONCE :]
    try:
        return AESGCM(key).decrypt(nonce, body, aad)
    except InvalidTag as exc:
        raise VaultError("cannot open: wrong key or tampered data") from exc


async def seal_persons(
    conn: asyncpg.Connection,
    vault: Vault,
    persons: list[tuple[str, dict[str, Any]]],
    at: datetime,
) -> list[str]:
    """Store the persons of signals (signal id, person) sealed under their subjects' keys, one
    statement per table; return each one's subject reference, in order.

    An erased subject stays erased: its person is recorded without ciphertext, so neither a
    replayed nor a re-sent event brings the data back.
    """
    if not persons:
        return []
    refs = [vault.subject_ref(p["name"], p.get("phone"), p.get("email")) for _, p in persons]
    new_keys = {ref: vault.new_subject_key(ref)[1] for ref in refs}  # one key per new subject
    await conn.execute(
        "INSERT INTO vault_subjects (subject_ref, wrapped_key, created_at)"
        " SELECT ref, wrapped, $3 FROM unnest($1::text[], $2::bytea[]) AS u(ref, wrapped)"
        " ON CONFLICT DO NOTHING",
        list(new_keys),
        list(new_keys.values()),
        at,
    )
    # FOR SHARE: an erasure of these subjects waits until this seal is committed, then shreds it.
    rows = await conn.fetch(
        "SELECT subject_ref, wrapped_key FROM vault_subjects WHERE subject_ref = ANY($1::text[])"
        " ORDER BY subject_ref FOR SHARE",
        list(new_keys),
    )
    keys = {r["subject_ref"]: r["wrapped_key"] for r in rows}
    sealed: list[bytes | None] = []
    for ref, (signal_id, person) in zip(refs, persons, strict=True):
        stored = keys.get(ref)
        plaintext = json.dumps(person, ensure_ascii=False, sort_keys=True).encode()
        sealed.append(
            None if stored is None else vault.seal(vault.unwrap(ref, stored), plaintext, signal_id)
        )
    await conn.execute(
        "INSERT INTO vault_persons (signal_id, subject_ref, sealed, sealed_at)"
        " SELECT signal_id, ref, sealed, $4"
        " FROM unnest($1::uuid[], $2::text[], $3::bytea[]) AS u(signal_id, ref, sealed)"
        " ON CONFLICT (signal_id) DO NOTHING",
        [UUID(signal_id) for signal_id, _ in persons],
        refs,
        sealed,
        at,
    )
    return refs


async def open_person(conn: asyncpg.Connection, vault: Vault, signal_id: str) -> dict[str, Any]:
    """The person sealed for a signal; KeyError when there is none, PersonErased once erased."""
    row = await conn.fetchrow(
        "SELECT p.subject_ref, p.sealed, s.wrapped_key FROM vault_persons p"
        " JOIN vault_subjects s USING (subject_ref) WHERE p.signal_id = $1",
        UUID(signal_id),
    )
    if row is None:
        raise KeyError(signal_id)
    ref = row["subject_ref"]
    key = vault.unwrap(ref, row["wrapped_key"])
    person: dict[str, Any] = json.loads(vault.open(key, row["sealed"], signal_id))
    return person


async def person_state(conn: asyncpg.Connection, signal_id: str) -> str:
    """Whether a signal has a person in the vault: "none", "sealed" or "erased"."""
    try:
        key = UUID(signal_id)
    except ValueError:
        return "none"
    row = await conn.fetchrow(
        "SELECT p.sealed IS NOT NULL AND s.wrapped_key IS NOT NULL AS readable FROM vault_persons p"
        " JOIN vault_subjects s USING (subject_ref) WHERE p.signal_id = $1",
        key,
    )
    if row is None:
        return "none"
    return "sealed" if row["readable"] else "erased"


async def subject_of_signal(conn: asyncpg.Connection, signal_id: str) -> str | None:
    """The subject reference of the person sealed for a signal, if any."""
    try:
        key = UUID(signal_id)
    except ValueError:
        return None
    ref: str | None = await conn.fetchval(
        "SELECT subject_ref FROM vault_persons WHERE signal_id = $1", key
    )
    return ref


class AlreadyErasedError(Exception):
    """The subject's key was destroyed before: nothing more to erase, no second record."""

    def __init__(self, subject_ref: str, erased_at: datetime, erased_by: str | None) -> None:
        super().__init__(f"{subject_ref} already erased on {erased_at.isoformat()}")
        self.subject_ref, self.erased_at, self.erased_by = subject_ref, erased_at, erased_by


async def erase_subject(conn: asyncpg.Connection, subject_ref: str, by: str, at: datetime) -> int:
    """Shred a subject's key and drop its ciphertexts; record who did it. -1: unknown subject.

    Raises AlreadyErasedError when it was erased before (at most one erasure per subject).
    """
    async with conn.transaction():
        status = await conn.execute(
            "UPDATE vault_subjects SET wrapped_key = NULL, erased_at = $2"
            " WHERE subject_ref = $1 AND erased_at IS NULL",
            subject_ref,
            at,
        )
        if status == "UPDATE 0":
            earlier = await conn.fetchrow(
                "SELECT s.erased_at, (SELECT e.erased_by FROM vault_erasures e"
                " WHERE e.subject_ref = s.subject_ref ORDER BY e.erased_at LIMIT 1) AS erased_by"
                " FROM vault_subjects s WHERE s.subject_ref = $1",
                subject_ref,
            )
            if earlier is None:
                return -1
            raise AlreadyErasedError(subject_ref, earlier["erased_at"], earlier["erased_by"])
        dropped = await conn.execute(
            "UPDATE vault_persons SET sealed = NULL WHERE subject_ref = $1", subject_ref
        )
        persons = int(dropped.rsplit(" ", 1)[1])
        await conn.execute(
            "INSERT INTO vault_erasures (subject_ref, erased_at, erased_by, persons)"
            " VALUES ($1, $2, $3, $4)",
            subject_ref,
            at,
            by,
            persons,
        )
    return persons
