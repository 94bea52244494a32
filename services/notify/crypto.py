"""Secrets at rest: AES-GCM for subscriber tokens and signing secrets, HMAC for signatures."""

from __future__ import annotations

import base64
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from wijkbus.partners import sign

NONCE_BYTES = 12
_KDF_INFO = b"wijkbus-notify-secrets-v1"

__all__ = ["SecretBox", "SecretBoxError", "new_signing_secret", "sign"]


class SecretBoxError(ValueError):
    """A stored secret cannot be decrypted: wrong key, or it was tampered with."""


class SecretBox:
    """Encrypts short secrets with AES-256-GCM under a key derived from NOTIFY_SECRET_KEY."""

    def __init__(self, master_key: str) -> None:
        if not master_key:
            raise ValueError("an empty secret key would make the encryption worthless")
        # HKDF turns a passphrase-like setting into a uniform 256-bit key for this one purpose.
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KDF_INFO).derive(
            master_key.encode()
        )
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, context: str) -> bytes:
        """`nonce || ciphertext`; `context` (subscription id and field) is authenticated too."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), context.encode())

    def open(self, sealed: bytes, context: str) -> str:
        """The plaintext of `seal(plaintext, context)`; SecretBoxError otherwise."""
        nonce, ciphertext = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        try:
            return self._aead.decrypt(nonce, ciphertext, context.encode()).decode()
        except InvalidTag as exc:
            raise SecretBoxError("stored secret does not decrypt with this key") from exc


def new_signing_secret() -> str:
    """A fresh per-subscription signing secret, shown to the subscriber once: `whsec_` and the
    standard base64 of 32 random bytes, as Standard Webhooks libraries take it."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
