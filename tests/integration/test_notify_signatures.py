"""Webhooks a partner verifies with an off-the-shelf Standard Webhooks library, end to end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from services.notify.app import build
from tests.integration.test_notify_flow import (
    Hit,
    Notify,
    Receiver,
    assignment,
    delivered,
    notify,
    publish,
    receiver,
    settings_for,
)
from tests.support import running_app, unique
from wijkbus.partners import verify_signature

__all__ = ["notify", "receiver"]  # the fixtures, used here


def verified(secret: str, hit: Hit) -> None:
    """What a partner's receiver does: both signatures check out, the standard one by library."""
    Webhook(secret).verify(hit.body, hit.headers, json_parse=False)
    assert verify_signature(secret.encode(), hit.body, hit.headers["wijkbus-signature"])


async def test_every_attempt_verifies_with_standardwebhooks_under_one_webhook_id(
    notify: Notify, receiver: Receiver
) -> None:
    hook, url = receiver.hook([500])
    street = unique("straat")
    created = (await notify.subscribe(url, filters={"street_key": street})).json()
    secret = created["signing_secret"]
    [test] = [h for h in receiver.hits if h.hook == hook]
    verified(secret, test)
    event = assignment(street)
    await publish(notify, event)
    failed, retried = await delivered(receiver, hook, 2)
    verified(secret, failed)
    verified(secret, retried)
    assert failed.headers["webhook-id"] == retried.headers["webhook-id"]
    assert failed.headers["webhook-id"] != test.headers["webhook-id"]
    assert int(retried.headers["webhook-timestamp"]) >= int(failed.headers["webhook-timestamp"])


async def test_a_replayed_webhook_older_than_five_minutes_is_rejected(
    notify: Notify, receiver: Receiver
) -> None:
    """A capture from six minutes ago: its signature is genuine, its timestamp is too old."""
    hook, url = receiver.hook()
    settings = settings_for(notify.database_url, notify.bootstrap, notify.creds)
    past = build(
        settings,
        partners=notify.partners,
        clock=lambda: datetime.now(UTC) - timedelta(minutes=6),
    )
    async with running_app(past) as past_url:
        response = await notify.http.post(
            f"{past_url}/api/v1/subscriptions",
            json={
                "channel": "webhook",
                "callback_url": url,
                "authorization": "Bearer t",
                "types": ["nl.wijkaanpak.routing."],
            },
            headers=notify.auth(),
        )
    assert response.status_code == 201, response.text
    secret = response.json()["signing_secret"]
    [captured] = [h for h in receiver.hits if h.hook == hook]
    sent_at = datetime.fromtimestamp(int(captured.headers["webhook-timestamp"]), UTC)
    signature = Webhook(secret).sign(
        captured.headers["webhook-id"], sent_at, captured.body.decode()
    )
    assert captured.headers["webhook-signature"] == signature
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(captured.body, captured.headers, json_parse=False)
    # Refreshing the timestamp does not help a replayer: the timestamp is signed.
    fresh = {**captured.headers, "webhook-timestamp": str(int(datetime.now(UTC).timestamp()))}
    with pytest.raises(WebhookVerificationError, match="signature"):
        Webhook(secret).verify(captured.body, fresh, json_parse=False)
