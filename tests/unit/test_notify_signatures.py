"""Standard Webhooks headers as an off-the-shelf verifier (`standardwebhooks`) reads them."""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from services.notify.crypto import new_signing_secret
from services.notify.signatures import headers, message_id, webhook_key

BODY = b'{"specversion":"1.0","id":"ev-1","type":"nl.wijkaanpak.routing.assigned"}'


def test_a_new_secret_signs_what_the_standard_verifier_accepts() -> None:
    secret = new_signing_secret()
    sent = headers(secret, "msg_1", datetime.now(UTC), BODY)
    assert sent["webhook-signature"].startswith("v1,")
    Webhook(secret).verify(BODY, sent, json_parse=False)


def test_another_body_or_secret_does_not_verify() -> None:
    secret = new_signing_secret()
    sent = headers(secret, "msg_1", datetime.now(UTC), BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY + b" ", sent, json_parse=False)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_signing_secret()).verify(BODY, sent, json_parse=False)


def test_a_timestamp_older_than_five_minutes_is_refused_though_the_signature_is_right() -> None:
    secret = new_signing_secret()
    old = datetime.now(UTC) - timedelta(minutes=6)
    sent = headers(secret, "msg_1", old, BODY)
    assert Webhook(secret).sign("msg_1", old, BODY.decode()) == sent["webhook-signature"]
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(BODY, sent, json_parse=False)


def test_a_secret_from_before_the_standard_headers_keys_the_same_bytes_in_either_alphabet() -> None:
    key = b"\xfb\xff\xbf" * 10 + secrets.token_bytes(2)  # "-_-_" in the URL-safe alphabet
    legacy = "whsec_" + base64.urlsafe_b64encode(key).decode().rstrip("=")
    assert "-_" in legacy
    standard = "whsec_" + base64.b64encode(key).decode()
    assert webhook_key(legacy) == webhook_key(standard) == key
    sent = headers(legacy, "msg_1", datetime.now(UTC), BODY)
    Webhook(standard).verify(BODY, sent, json_parse=False)
    # What the docs tell a partner holding such a secret: swap the alphabet after `whsec_`.
    swapped = "whsec_" + legacy.removeprefix("whsec_").replace("-", "+").replace("_", "/")
    Webhook(swapped).verify(BODY, sent, json_parse=False)


def test_a_message_id_is_the_same_for_one_event_to_one_subscription_only() -> None:
    sub, other = uuid.uuid4(), uuid.uuid4()
    assert message_id(sub, "ev-1") == message_id(sub, "ev-1")
    assert len({message_id(sub, "ev-1"), message_id(sub, "ev-2"), message_id(other, "ev-1")}) == 3
    assert "." not in message_id(sub, "ev-1")  # it is the first part of the signed content
