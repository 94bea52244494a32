"""Presented secrets are compared as bytes: any character is a wrong secret, never a crash."""

from __future__ import annotations

from wijkbus import auth
from wijkbus.partners import sign, verify_signature

SECRET = b"s" * 32


def test_a_signature_header_with_non_ascii_characters_is_not_signed() -> None:
    # A forged Kafka header decoded with errors="replace" holds U+FFFD: was a TypeError.
    assert not verify_signature(SECRET, b"{}", "sha256=\ufffd")
    assert verify_signature(SECRET, b"{}", sign(SECRET, b"{}") + " ")


def test_a_presented_token_with_any_character_is_just_wrong() -> None:
    for presented in ("\u00e9", "\ud800", "\x00"):
        assert not auth.same_secret(presented, "operator-token")
        assert not auth.is_operator_token(presented, "operator-token")
    assert auth.same_secret("operator-token", "operator-token")
