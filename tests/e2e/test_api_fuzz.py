"""schemathesis over all four services' own OpenAPI, and over routing's wijkhub dashboard forms:
no 5xx whatever comes in, answers as documented, every 4xx of an API is problem+json.

Each service runs as its own process on the session's broker and PostgreSQL (the `stack`
fixture). Every operation gets positive and negative cases, `MAX_EXAMPLES` of them per caller,
within `BUDGET_S` per service. What is left out, and why:

- budget's resident pages and forms (`/buurt...`) and the dashboards' GET pages other than
  routing's: not in any OpenAPI, HTML for people; their bad input has tests of their own.
- notify's webhook subscriptions: the test delivery would go to whatever `callback_url` the
  generator made up, so the schema is narrowed to a local receiver that answers 204 (the negative
  cases still send malformed URLs, which are refused before anything is sent).
- notify's `GET /api/v1/feed`: server-sent events that stream until the client goes, so
  every case would wait out its timeout; its access and content have tests of their own.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from schemathesis.openapi import from_dict

from tests.e2e.fuzzing import Caller, fuzz, local_receiver
from tools import wijkhub_demo
from tools.devstack import DEMO_PARTNERS, ServiceProcesses
from wijkbus import auth

# Per operation and caller, both modes together; WIJKBUS_FUZZ_EXAMPLES=200 for a deeper run.
MAX_EXAMPLES = int(os.environ.get("WIJKBUS_FUZZ_EXAMPLES", "25"))
BUDGET_S = 90.0
PARTNER = "woonstichting-noord"


def operator(stack: ServiceProcesses) -> Caller:
    """The operator, with the bearer token."""
    return Caller("operator", {"Authorization": f"Bearer {stack.creds.operator_token}"})


def partner(stack: ServiceProcesses, partner_id: str = PARTNER) -> Caller:
    """A demo partner, with its API key."""
    return Caller(partner_id, {"Authorization": f"Bearer {stack.creds.api_keys[partner_id]}"})


def openapi(stack: ServiceProcesses, service: str) -> dict[str, Any]:
    """The service's own OpenAPI document, as it serves it."""
    answer = httpx.get(f"{stack.url(service)}/api/v1/openapi.json", timeout=30)
    answer.raise_for_status()
    document: dict[str, Any] = answer.json()
    return document


def pinned(document: dict[str, Any], **values: str) -> dict[str, Any]:
    """The document's operations with a path parameter named in `values`, that parameter fixed
    to the value (a thing that exists): their cases reach past "not found" into the decisions."""
    patched = copy.deepcopy(document)
    for path, operations in list(patched["paths"].items()):
        names = {p["name"] for o in operations.values() for p in o.get("parameters", [])}
        if not names & values.keys():
            del patched["paths"][path]
            continue
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] in values:
                    parameter["schema"] = {"type": "string", "enum": [values[parameter["name"]]]}
    return patched


@pytest.fixture(scope="module")
def wijkhub(stack: ServiceProcesses) -> dict[str, str]:
    """A street with advice (the wijkhub demo's signals) and a hub opened on it."""
    source = next(p["source"] for p in DEMO_PARTNERS if p["id"] == wijkhub_demo.PARTNER)
    key = {"Authorization": f"Bearer {stack.creds.api_keys[wijkhub_demo.PARTNER]}"}
    with (
        httpx.Client(base_url=stack.url("intake"), headers=key, timeout=30) as intake,
        httpx.Client(base_url=stack.url("routing"), headers=operator(stack).headers,
                     timeout=30) as routing,
    ):  # fmt: skip
        assert wijkhub_demo.seed(intake, routing, source, within_s=60) is not None
        advice = routing.get("/api/v1/wijkhubs/advice").json()
        street_key = advice[0]["street_key"]
        today = datetime.now(UTC).date()
        opened = routing.post("/api/v1/wijkhubs", json=_plan(street_key, today))
        assert opened.status_code == 201, opened.text
    return {"street_key": street_key, "hub_id": opened.json()["hub_id"]}


def _plan(street_key: str, today: date) -> dict[str, Any]:
    return {
        "street_keys": [street_key],
        "address": "Asingastraat 1",
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(weeks=6)).isoformat(),
        "partners": [PARTNER, "wij-groningen"],
        "contact": {"name": "A. Aanspreekpunt", "role": "wijkagent"},
        "aims": "minder overlast",
    }


def test_intake_api_never_answers_5xx(stack: ServiceProcesses) -> None:
    """Intake's partner API (events, signals, the person) as a partner and as an operator."""
    schema = from_dict(openapi(stack, "intake"))
    callers = [partner(stack), operator(stack)]
    tally = fuzz([schema], stack.url("intake"), callers, max_examples=MAX_EXAMPLES)
    assert {202, 400} & tally.codes("POST /api/v1/events")


def test_routing_wijkhub_forms_never_answer_5xx(
    stack: ServiceProcesses, wijkhub: dict[str, str]
) -> None:
    """The dashboard's wijkhub forms, as a logged-in operator with the form token. Before the
    API's fuzzing: that may close the seeded hub, and a closed hub's page has no forms."""
    cookie, form_token = logged_in(stack, f"/dashboard/wijkhubs/{wijkhub['hub_id']}")
    document = forms_openapi(form_token)
    schemas = [from_dict(document), from_dict(pinned(document, **wijkhub))]
    login = Caller("operator (login)", cookies={auth.cookie_name("routing"): cookie})
    tally = fuzz(schemas, stack.url("routing"), [login], max_examples=MAX_EXAMPLES)
    assert 200 in tally.codes("GET /dashboard/wijkhubs/{hub_id}")
    assert {303, 400, 409} & tally.codes("POST /dashboard/wijkhubs/{hub_id}/extend")


def test_routing_api_never_answers_5xx(stack: ServiceProcesses, wijkhub: dict[str, str]) -> None:
    """Assignments, streets, rules and the wijkhub API: as the operator, and as partners (the
    wijkhub reads are theirs too; one takes part in the seeded hub, one does not)."""
    document = openapi(stack, "routing")
    schemas = [from_dict(document), from_dict(pinned(document, **wijkhub))]
    callers = [operator(stack), partner(stack), partner(stack, "politie-groningen")]
    tally = fuzz(schemas, stack.url("routing"), callers, max_examples=MAX_EXAMPLES,
                 budget_s=BUDGET_S)  # fmt: skip
    assert {200, 404} <= tally.codes("GET /api/v1/wijkhubs/{hub_id}")  # in it, and not in it
    assert tally.skipped == 0, f"the time budget cut {tally.skipped} cases"


def logged_in(stack: ServiceProcesses, page: str) -> tuple[str, str]:
    """An operator's routing session cookie (logged in with the token) and a page's form token."""
    with httpx.Client(base_url=stack.url("routing"), timeout=30) as browser:
        login = browser.post("/login", data={"token": stack.creds.operator_token})
        assert login.status_code == 303
        text = browser.get(page).text
    found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', text)
    assert found is not None, f"{page} carries a form token"
    return browser.cookies[auth.cookie_name("routing")], found.group(1)


def test_budget_api_never_answers_5xx(stack: ServiceProcesses) -> None:
    """Residents' calls (no credentials: the code is the key) and the operators' decisions."""
    schema = from_dict(openapi(stack, "budget"))
    callers = [Caller("resident"), operator(stack)]
    tally = fuzz([schema], stack.url("budget"), callers, max_examples=MAX_EXAMPLES,
                 budget_s=BUDGET_S)  # fmt: skip
    assert 401 in tally.codes("POST /api/v1/rounds") and 400 in tally.codes("POST /api/v1/rounds")
    assert tally.skipped == 0, f"the time budget cut {tally.skipped} cases"


@pytest.fixture(scope="module")
def receiver() -> Iterator[str]:
    """notify's test deliveries land here."""
    with local_receiver() as url:
        yield url


def test_notify_api_never_answers_5xx(stack: ServiceProcesses, receiver: str) -> None:
    """Subscriptions and dead deliveries, as a partner and as the operator; the webhooks'
    test deliveries go to a local receiver."""
    base = stack.url("notify")
    subscription = {"channel": "webhook", "callback_url": receiver, "authorization": "Bearer x",
                    "types": ["nl.wijkaanpak."]}  # fmt: skip
    created = httpx.post(f"{base}/api/v1/subscriptions", json=subscription,
                         headers=partner(stack).headers, timeout=30)  # fmt: skip
    assert created.status_code == 201, created.text
    document = openapi(stack, "notify")
    del document["paths"]["/api/v1/feed"]  # a live stream: it answers for minutes, not once
    request = document["components"]["schemas"]["SubscriptionRequest"]["properties"]
    request["callback_url"] = {"anyOf": [{"enum": [receiver]}, {"type": "null"}]}
    schemas = [
        from_dict(document),
        from_dict(pinned(document, subscription_id=created.json()["id"])),
    ]
    tally = fuzz(schemas, base, [partner(stack), operator(stack)], max_examples=MAX_EXAMPLES,
                 budget_s=BUDGET_S)  # fmt: skip
    assert 200 in tally.codes("GET /api/v1/subscriptions/{subscription_id}")
    assert tally.skipped == 0, f"the time budget cut {tally.skipped} cases"


def forms_openapi(csrf_token: str) -> dict[str, Any]:
    """The wijkhub forms of routing's dashboard as an OpenAPI document (they are not in the
    service's own: they answer HTML to a browser, not JSON)."""
    text = {"type": "string", "maxLength": 2100}
    day = {"type": "string", "format": "date"}
    token = {"type": "string", "enum": [csrf_token]}
    partners = {"type": "array", "items": {"anyOf": [
        {"enum": [p["id"] for p in DEMO_PARTNERS]}, {"type": "string"}]}}  # fmt: skip

    def form(**fields: dict[str, Any]) -> dict[str, Any]:
        schema = {"type": "object", "properties": {"csrf_token": token, **fields},
                  "required": ["csrf_token"]}  # fmt: skip
        return {"content": {"application/x-www-form-urlencoded": {"schema": schema}}}

    def operation(*path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        parameters = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                      for p in path]  # fmt: skip
        found = {"parameters": parameters, "responses": {"default": {"description": "HTML"}}}
        return {"get": found} if body is None else {"post": {**found, "requestBody": form(**body)}}

    return {
        "openapi": "3.1.0",
        "info": {"title": "routing dashboard forms", "version": "1"},
        "paths": {
            "/dashboard/wijkhubs": operation(
                body=dict(
                    street_key=text,
                    address=text,
                    starts_on=day,
                    ends_on=day,
                    partners=partners,
                    name=text,
                    role=text,
                    phone=text,
                    email=text,
                    aims=text,
                )
            ),
            "/dashboard/wijkhubs/advice/{street_key}/decline": operation(
                "street_key", body={"reason": text}
            ),
            "/dashboard/wijkhubs/{hub_id}": operation("hub_id"),
            "/dashboard/wijkhubs/{hub_id}/extend": operation("hub_id", body={"ends_on": day}),
            "/dashboard/wijkhubs/{hub_id}/close": operation("hub_id", body={"outcome_note": text}),
        },
    }
