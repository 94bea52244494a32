"""What a subscription request may ask for; every error is listed at once."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.notify.subscription_requests import SubscriptionRequest

VALID: dict[str, Any] = {
    "channel": "webhook",
    "callback_url": "https://backoffice.example.nl/wijkbus",
    "authorization": "Bearer xyz",
    "types": ["nl.wijkaanpak.routing."],
    "filters": {"partner": "politie-noord", "buurt_code": "BU00140107"},
}


def errors(body: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        SubscriptionRequest.model_validate(body)
    return {".".join(str(p) for p in e["loc"]): e["msg"] for e in caught.value.errors()}


def test_a_valid_request_is_accepted() -> None:
    request = SubscriptionRequest.model_validate(VALID)
    assert request.filters.partner == "politie-noord"
    assert SubscriptionRequest.model_validate({**VALID, "filters": {}}).filters.partner is None


def test_every_error_is_reported_together() -> None:
    found = errors(
        {
            "channel": "sms",
            "callback_url": "ftp://backoffice.example.nl/",
            "authorization": "Bearer x\r\nX-Evil: 1",
            "types": [],
            "filters": {"buurt_code": "0014", "colour": "red"},
        }
    )
    assert set(found) == {
        "channel",
        "callback_url",
        "authorization",
        "types",
        "filters.buurt_code",
        "filters.colour",
    }


def test_an_email_subscription_names_an_address_and_no_callback() -> None:
    request = SubscriptionRequest.model_validate(
        {"channel": "email", "email": "wijkteam@politie.example.nl", "types": ["nl."]}
    )
    assert request.email == "wijkteam@politie.example.nl"
    assert request.callback_url is None and request.authorization is None


def test_each_channel_requires_its_own_target_and_refuses_the_others() -> None:
    found = errors({**VALID, "channel": "email"})
    assert set(found) == {"callback_url", "authorization", "email"}
    assert "required" in found["email"]
    assert "not used" in found["callback_url"]
    assert "email" in errors({**VALID, "email": "team@example.nl"})


@pytest.mark.parametrize("address", ["geen-adres", "a@b", "x@example.nl, y@example.nl"])
def test_an_email_address_must_be_one_plain_address(address: str) -> None:
    found = errors({"channel": "email", "email": address, "types": ["nl."]})
    assert set(found) == {"email"}


@pytest.mark.parametrize(
    "url", ["not a url", "http://", "file:///etc/passwd", "https://user:pw@example.nl/hook"]
)
def test_callback_must_be_a_plain_http_url(url: str) -> None:
    assert "callback_url" in errors({**VALID, "callback_url": url})


def test_authorization_and_types_are_required() -> None:
    body = {k: v for k, v in VALID.items() if k not in ("authorization", "types")}
    assert set(errors(body)) == {"authorization", "types"}
