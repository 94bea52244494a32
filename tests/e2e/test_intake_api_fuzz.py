"""schemathesis on intake's own OpenAPI: no 5xx whatever comes in, every 4xx is problem+json."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.openapi import from_url

from tools.devstack import ServiceProcesses

PARTNER = "woonstichting-noord"


def test_intake_api_never_answers_5xx_and_4xx_are_problems(stack: ServiceProcesses) -> None:
    """Generated requests for every operation, as a demo partner, bounded in examples."""
    base = stack.url("intake")
    schema = from_url(f"{base}/api/v1/openapi.json", timeout=30)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/v1/events", "/api/v1/signals/{signal_id}"}
    cases = st.sampled_from(operations).flatmap(lambda op: op.as_strategy())
    headers = {"Authorization": f"Bearer {stack.creds.api_keys[PARTNER]}"}
    seen: list[int] = []

    @settings(
        max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(cases)
    def check(case) -> None:  # type: ignore[no-untyped-def]
        response = case.call(base_url=base, headers=headers, timeout=30)
        seen.append(response.status_code)
        assert response.status_code < 500, f"{case.method} {case.path}: {response.status_code}"
        if 400 <= response.status_code < 500:
            values = {k.lower(): v for k, v in response.headers.items()}["content-type"]
            media = values[0] if isinstance(values, list) else values
            assert media.startswith("application/problem+json"), (
                f"{case.method} {case.path} -> {response.status_code} {media}"
            )

    check()
    assert any(code == 202 for code in seen) or any(400 <= code < 500 for code in seen)
