"""Subscriber tokens at rest: AES-GCM round-trip, bound to their row, never in clear."""

from __future__ import annotations

import pytest

from services.notify.crypto import SecretBox, SecretBoxError, new_signing_secret, sign

TOKEN = "Bearer receiver-token-5f1c9e"


def test_token_round_trips() -> None:
    box = SecretBox("notify-secret-key")
    assert box.open(box.seal(TOKEN, "sub-1:auth"), "sub-1:auth") == TOKEN


def test_stored_ciphertext_does_not_contain_the_token() -> None:
    sealed = SecretBox("notify-secret-key").seal(TOKEN, "sub-1:auth")
    assert TOKEN.encode() not in sealed
    assert b"receiver-token" not in sealed
    assert b"Bearer" not in sealed


def test_same_token_seals_differently_each_time() -> None:
    box = SecretBox("notify-secret-key")
    assert box.seal(TOKEN, "sub-1:auth") != box.seal(TOKEN, "sub-1:auth")


def test_another_key_or_another_row_cannot_open_it() -> None:
    sealed = SecretBox("notify-secret-key").seal(TOKEN, "sub-1:auth")
    with pytest.raises(SecretBoxError):
        SecretBox("another-key").open(sealed, "sub-1:auth")
    with pytest.raises(SecretBoxError):
        SecretBox("notify-secret-key").open(sealed, "sub-2:auth")


def test_tampered_ciphertext_is_refused() -> None:
    box = SecretBox("notify-secret-key")
    sealed = bytearray(box.seal(TOKEN, "sub-1:auth"))
    sealed[-1] ^= 1
    with pytest.raises(SecretBoxError):
        box.open(bytes(sealed), "sub-1:auth")


def test_an_empty_key_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        SecretBox("")


def test_signing_secrets_are_fresh_and_sign_as_the_contract_says() -> None:
    first, second = new_signing_secret(), new_signing_secret()
    assert first != second
    assert len(first) > 40
    assert sign(first.encode(), b"{}").startswith("sha256=")
