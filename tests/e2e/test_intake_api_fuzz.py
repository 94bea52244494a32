"""schemathesis on intake's own OpenAPI: no 5xx whatever comes in, every 4xx is problem+json."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.openapi import from_url

from wijkbus.devstack import ServiceProcesses

intake_api = schemathesis.pytest.from_fixture("intake_schema")


@pytest.fixture(scope="module")
def intake_schema(stack: ServiceProcesses):  # type: ignore[no-untyped-def]
    """Intake's OpenAPI document as served by the running process."""
    base = stack.url("intake")
    return from_url(f"{base}/api/v1/openapi.json", timeout=30)


@intake_api.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_intake_api_never_answers_5xx_and_4xx_are_problems(case, stack) -> None:  # type: ignore[no-untyped-def]
    """Authenticated as a demo partner (and sometimes not), whatever the body or path."""
    partner_key = stack.creds.api_keys["woonstichting-noord"]
    response = case.call(
        base_url=stack.url("intake"), headers={"Authorization": f"Bearer {partner_key}"}, timeout=30
    )
    assert response.status_code < 500, f"{case.method} {case.path}: {response.status_code}"
    if 400 <= response.status_code < 500:
        media = response.headers["content-type"]
        assert media.startswith("application/problem+json"), (
            f"{case.method} {case.path} -> {response.status_code} {media}"
        )
