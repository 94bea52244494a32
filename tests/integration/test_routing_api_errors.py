"""Routing's API errors as an integrator meets them: the refused rule's field, 415 for a body
that is not JSON, 403 for a partner key on an operator endpoint."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.test_routing_flow import RULES, Router, serve_routing

YAML = {"Content-Type": "application/yaml"}


@pytest.fixture
async def router(
    fresh_database: str, kafka_bootstrap: str, tmp_path: Path
) -> AsyncIterator[tuple[Router, dict[str, str]]]:
    """A running routing service, and the police's partner key for it."""
    async with serve_routing(RULES, fresh_database, kafka_bootstrap, tmp_path) as running:
        yield running, {"Authorization": f"Bearer {running.partner_keys['politie-groningen']}"}


async def test_a_refused_rule_set_names_the_field_of_each_problem(
    router: tuple[Router, dict[str, str]],
) -> None:
    routing = router[0]
    broken = RULES.replace('"test-1"', '"test-2"').replace(
        "responder: gemeente-groningen\n    acknowledge_within_hours: 48",
        "responder: nobody\n    acknowledge_within_hours: -1",
    )
    response = await routing.http.put(
        "/api/v1/rules", content=broken, headers={**routing.operator, **YAML}
    )
    assert response.status_code == 400, response.text
    fields = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert set(fields) == {"rules[1].acknowledge_within_hours"}, fields
    unknown = RULES.replace('"test-1"', '"test-3"').replace(
        "responder: gemeente-groningen\n    acknowledge_within_hours: 48",
        "responder: nobody\n    acknowledge_within_hours: 48",
    )
    response = await routing.http.put(
        "/api/v1/rules", content=unknown, headers={**routing.operator, **YAML}
    )
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "rules[1].responder"
    assert "'nobody' is not a registered partner" in error["message"]


async def test_a_rule_set_that_is_no_yaml_is_refused_for_the_whole_body(
    router: tuple[Router, dict[str, str]],
) -> None:
    routing = router[0]
    response = await routing.http.put(
        "/api/v1/rules", content="rules: [", headers={**routing.operator, **YAML}
    )
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["body"]


async def test_a_json_endpoint_answers_415_for_another_content_type(
    router: tuple[Router, dict[str, str]],
) -> None:
    routing = router[0]
    body = json.dumps({"reason": "de buurt regelt het zelf"})
    path = "/api/v1/wijkhubs/advice/naam:groningen:nergensstraat/decline"
    plain = {**routing.operator, "Content-Type": "text/plain"}
    response = await routing.http.post(path, content=body, headers=plain)
    assert response.status_code == 415, response.text
    assert response.headers["content-type"] == "application/problem+json"
    as_json = {**routing.operator, "Content-Type": "application/json"}
    response = await routing.http.post(path, content="{}", headers=as_json)
    assert response.status_code == 400  # JSON, but invalid: still the field's error
    assert [e["field"] for e in response.json()["errors"]] == ["reason"]


async def test_a_partner_key_on_an_operator_endpoint_is_403_and_no_key_401(
    router: tuple[Router, dict[str, str]],
) -> None:
    routing, partner = router
    for path in ("/api/v1/assignments", "/api/v1/rules", "/api/v1/wijkhubs/advice"):
        forbidden = await routing.http.get(path, headers=partner)
        assert forbidden.status_code == 403, (path, forbidden.text)
        assert forbidden.headers["content-type"] == "application/problem+json"
        unknown = await routing.http.get(path, headers={"Authorization": "Bearer wb_nope"})
        assert unknown.status_code == 401
        assert (await routing.http.get(path)).status_code == 401
    assert (await routing.http.get("/api/v1/rules", headers=routing.operator)).status_code == 200
