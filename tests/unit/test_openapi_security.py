"""Every service's OpenAPI names how to authenticate, on every operation that requires it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from tests.support import demo_registry
from tools.devstack import DEMO_RULES

# Public operations: a resident's code in the body is the credential there.
PUBLIC = {"/api/v1/supports", "/api/v1/supports/withdraw", "/api/v1/ballots", "/api/v1/initiatives"}


def built(service: str) -> FastAPI:
    """The service's app, built (no I/O happens before it starts)."""
    registry, creds = demo_registry()
    common: dict[str, Any] = {"operator_token": creds.operator_token}
    if service == "intake":
        from services.intake.app import IntakeSettings, build

        return build(IntakeSettings(**common), partners=registry)
    if service == "routing":
        from services.routing.app import RoutingSettings
        from services.routing.app import build as build_routing

        return build_routing(RoutingSettings(**common, rules_file=DEMO_RULES), partners=registry)
    if service == "budget":
        from services.budget.app import BudgetSettings
        from services.budget.app import build as build_budget

        return build_budget(BudgetSettings(**common))
    from services.notify.app import NotifySettings
    from services.notify.app import build as build_notify

    settings = NotifySettings(**common, secret_key=creds.notify_secret_key)
    return build_notify(settings, partners=registry)


@pytest.mark.parametrize("service", ["intake", "routing", "budget", "notify"])
def test_the_openapi_declares_and_uses_its_security_schemes(service: str) -> None:
    schema = built(service).openapi()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert schemes["operatorCookie"]["in"] == "cookie"
    operations = [
        (path, method, op)
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
        if path.startswith("/api/v1/")
    ]
    assert operations
    for path, method, op in operations:
        if path in PUBLIC:
            assert "security" not in op, f"{method} {path} is public"
            continue
        assert op.get("security") == [{"bearer": []}, {"operatorCookie": []}], (method, path)
        assert "401" in op["responses"]
