"""Numbers a column cannot hold are a 400 at their field, never a 500 (schemathesis found them)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.test_budget_support import OPERATOR, running_buurt
from tests.integration.test_notify_flow import Notify, notify

__all__ = ["notify"]  # the notify fixture, used here
CORP = "woonstichting-noord"


def a_round(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "round_id": "groot-2026", "title": "Groot", "municipality": "Groningen", "year": 2026,
        "buurt_code": "BU00140107", "budget": 1000, "rule": "greedy",
        "projects": [{"project_id": "bomen", "title": "Bomen", "cost": 600}],
    }  # fmt: skip
    for name, value in changes.items():
        if name == "cost":
            body["projects"][0]["cost"] = value
        else:
            body[name] = value
    return body


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"budget": 10**12}, "budget"),
        ({"budget": 2**31}, "budget"),
        ({"cost": 2**40}, "projects.0.cost"),
        ({"cost": 2**70}, "projects.0.cost"),
        ({"year": 2**31}, "year"),
        ({"min_length": 2**31}, "min_length"),
        ({"max_length": 2**63}, "max_length"),
    ],
)
async def test_a_round_with_an_integer_beyond_its_column_is_a_400_at_the_field(
    fresh_database: str, kafka_bootstrap: str, change: dict[str, int], field: str
) -> None:
    async with running_buurt(fresh_database, kafka_bootstrap, households=1) as b:
        answer = await b.http.post("/api/v1/rounds", headers=OPERATOR, json=a_round(**change))
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in answer.json()["errors"]] == [field]
        fits = await b.http.post("/api/v1/rounds", headers=OPERATOR, json=a_round(budget=2**31 - 1))
        assert fits.status_code == 201, fits.text


async def test_a_round_naming_a_project_twice_is_a_400_at_its_projects(
    fresh_database: str, kafka_bootstrap: str
) -> None:
    """Found by schemathesis: the second row of a project broke the round's key, a 500."""
    twice = a_round()
    twice["projects"] *= 2
    async with running_buurt(fresh_database, kafka_bootstrap, households=1) as b:
        answer = await b.http.post("/api/v1/rounds", headers=OPERATOR, json=twice)
        assert answer.status_code == 400, answer.text
        assert [e["field"] for e in answer.json()["errors"]] == ["projects"]
        assert "projects.1.project_id is on the ballot twice" in answer.text


@pytest.mark.parametrize("delivery_id", [2**63, 2**70, 0, -1])
async def test_retrying_a_delivery_id_beyond_bigint_is_a_client_error(
    notify: Notify, delivery_id: int
) -> None:
    for who in (None, CORP):
        answer = await notify.http.post(
            f"/api/v1/deliveries/{delivery_id}/retry", headers=notify.auth(who)
        )
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in answer.json()["errors"]] == ["path.delivery_id"]
    unknown = await notify.http.post("/api/v1/deliveries/4711/retry", headers=notify.auth())
    assert unknown.status_code == 404
