"""Inputs the e2e schemathesis run (tests/e2e/test_api_fuzz.py) found answering 500 on notify:
each is now a precise 4xx, never a 500."""

from __future__ import annotations

import pytest

from tests.integration.test_notify_flow import Notify, Receiver, notify, receiver

__all__ = ["notify", "receiver"]  # fixtures, used here


@pytest.mark.parametrize("value", ["Bearer t\u00f6ken", "Bearer \U0001f511", "Bearer \x7f"])
async def test_an_authorization_that_is_not_printable_ascii_is_refused_at_its_field(
    notify: Notify, receiver: Receiver, value: str
) -> None:
    # Was a UnicodeEncodeError from httpx while sending the test delivery: a 500.
    name, hook = receiver.hook()
    answer = await notify.subscribe(hook, authorization=value)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in answer.json()["errors"]] == ["authorization"]
    assert [h for h in receiver.hits if h.hook == name] == []  # refused before any delivery
    assert await notify.fetch("SELECT id FROM notify.subscriptions") == []
