"""Voting codes and household pseudonyms: random codes kept only as hashes, HMAC pseudonyms."""

from __future__ import annotations

import hashlib
import hmac
import secrets

# Crockford's base32: no I, L, O or U, so a code read from paper is not mistyped.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
CODE_BITS = 130  # 26 characters of 5 bits: at least 128 random bits
GROUP = 4


def new_code() -> str:
    """A fresh voting code: 130 random bits as 26 base32 characters, grouped for reading."""
    value = secrets.randbits(CODE_BITS)
    chars = "".join(ALPHABET[(value >> (5 * i)) & 31] for i in range(CODE_BITS // 5))
    return "-".join(chars[i : i + GROUP] for i in range(0, len(chars), GROUP))


def normalise(code: str) -> str:
    """The code as typed (any case, spaces, dashes, O for 0) in its canonical form."""
    return "".join(code.upper().split()).replace("-", "").translate(_READ_AS)


def looks_like_a_code(code: str) -> bool:
    """Whether the typed text can be a code at all (right length and alphabet)."""
    canonical = normalise(code)
    return len(canonical) == CODE_BITS // 5 and all(c in ALPHABET for c in canonical)


def code_hash(code: str) -> bytes:
    """What is stored of a code: SHA-256 of its canonical form (the code has 130 random bits,
    so no salt or slow hash is needed)."""
    return hashlib.sha256(normalise(code).encode()).digest()


def pseudonym(key: bytes, scope: str, household_id: str) -> str:
    """A household's pseudonym within one year or round: unlinkable without `key`."""
    message = f"{scope}\x1f{household_id}".encode()
    return "hh_" + hmac.new(key, message, hashlib.sha256).hexdigest()[:32]
