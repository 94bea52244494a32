"""What notify's OpenAPI tells an integrator: which secret signs how, and the types to name."""

from __future__ import annotations

from services.notify.catalogue import DELIVERED_TYPES
from tests.unit.test_openapi_security import built


def test_the_subscription_api_says_which_secret_signs_and_lists_the_types() -> None:
    schema = built("notify").openapi()
    create = schema["paths"]["/api/v1/subscriptions"]["post"]
    for header in ("webhook-id", "webhook-timestamp", "webhook-signature", "wijkbus-signature"):
        assert header in create["description"]
    assert "signing_secret" in create["description"]
    assert "never match" in create["responses"]["400"]["description"]
    types = schema["components"]["schemas"]["SubscriptionRequest"]["properties"]["types"]
    assert "prefix" in types["description"]
    assert all(t in types["description"] for t in DELIVERED_TYPES)
