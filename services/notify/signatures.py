"""Standard Webhooks signatures (webhook-id, webhook-timestamp, webhook-signature) for a POST.

The spec: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
The signed content is `{webhook-id}.{webhook-timestamp}.{body}`, HMAC-SHA256 keyed with the bytes
that the base64 after `whsec_` in the subscription's signing secret encodes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from datetime import datetime

SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix, not a secret)


def webhook_key(signing_secret: str) -> bytes:
    """The HMAC key a Standard Webhooks verifier derives from `signing_secret`.

    Secrets issued before the Standard Webhooks headers used base64's URL-safe alphabet without
    padding; both alphabets encode the same bytes, so either decodes to the key.
    """
    encoded = signing_secret.removeprefix(SECRET_PREFIX).replace("-", "+").replace("_", "/")
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError("the signing secret is not whsec_ followed by base64") from exc
    if not key:
        raise ValueError("the signing secret is empty")
    return key


def message_id(subscription_id: uuid.UUID, event_id: str) -> str:
    """The webhook-id of one event to one subscription: the same on every retry of it."""
    return "msg_" + uuid.uuid5(subscription_id, event_id).hex


def headers(signing_secret: str, msg_id: str, at: datetime, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of a POST of `body` sent at `at`."""
    timestamp = str(int(at.timestamp()))
    signed = b".".join((msg_id.encode(), timestamp.encode(), body))
    digest = hmac.new(webhook_key(signing_secret), signed, hashlib.sha256).digest()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }


def batch_message_id(subscription_id: uuid.UUID, batch_id: uuid.UUID) -> str:
    """The webhook-id of one batch to one subscription: the same on every retry of it, and
    never that of a single event (a batch is its own message)."""
    return "msg_" + uuid.uuid5(subscription_id, f"batch:{batch_id}").hex
