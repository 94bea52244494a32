"""Every service's API docs work under its own CSP: Swagger UI's page loads only assets the
service serves itself, and AsyncAPI shows what each service publishes, with its payload."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from tests.unit.test_openapi_security import built

SERVICES = ["intake", "routing", "budget", "notify"]
LINKED = re.compile(r'(?:src|href)="([^"]+)"')


def _client(service: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=built(service))
    return httpx.AsyncClient(transport=transport, base_url="http://wijkbus.test")


def _csp(header: str) -> dict[str, list[str]]:
    directives = (part.split() for part in header.split(";") if part.strip())
    return {d[0]: d[1:] for d in directives}


@pytest.mark.parametrize("service", SERVICES)
async def test_the_docs_page_loads_only_local_assets_the_csp_allows(service: str) -> None:
    async with _client(service) as http:
        page = await http.get("/api/v1/docs")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        linked = LINKED.findall(page.text)
        assert {u.rsplit(".", 1)[-1] for u in linked} >= {"js", "css"}, linked
        assert "http" not in page.text, "an absolute URL: the page would leave the service"
        csp = _csp(page.headers["content-security-policy"])
        for url in linked:
            assert url.startswith("/") and not url.startswith("//"), url
            asset = await http.get(url)
            assert asset.status_code == 200, url
            kind = "script-src" if url.endswith(".js") else "style-src"
            if url.endswith(".png"):
                kind = "img-src"
            assert "'self'" in csp.get(kind, csp["default-src"]), (kind, csp)
        assert "'self'" in csp.get("connect-src", csp["default-src"])  # the OpenAPI fetch
        spec_url = re.search(r"url: '([^']+)'", page.text)
        assert spec_url is not None
        assert (await http.get(spec_url.group(1))).json()["openapi"].startswith("3.")


def _payload(doc: dict[str, Any], channel: dict[str, Any]) -> dict[str, Any]:
    [ref] = [m["$ref"] for m in channel["messages"].values()]
    message = doc["components"]["messages"][unquote(ref.rsplit("/", 1)[1])]
    return _resolve(doc, message["payload"])


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" not in schema:
        return schema
    found: dict[str, Any] = doc["components"]["schemas"][unquote(schema["$ref"].rsplit("/", 1)[1])]
    return found


def _models(doc: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    """The contract models a payload names: itself, or each member of its anyOf."""
    members = schema.get("anyOf", [schema])
    return {_resolve(doc, m).get("title", "") for m in members}


async def _asyncapi(service: str) -> dict[str, Any]:
    async with _client(service) as http:
        answer = await http.get("/docs/asyncapi")
    assert answer.status_code == 200
    doc: dict[str, Any] = answer.json()
    return doc


def _published(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {ch["address"]: ch for name, ch in doc["channels"].items() if " -> " in name}


@pytest.mark.parametrize(
    ("service", "topic", "models"),
    [
        ("intake", "signals.accepted", {"SignalAccepted"}),
        ("intake", "signals.feedback", {"FeedbackReceived"}),
        ("intake", "partners.politie-groningen.receipts", {"ReceiptData"}),
        (
            "routing",
            "routing.events",
            {
                "ResponderAssigned",
                "ResponderEscalated",
                "SignalAcknowledged",
                "SignalResolved",
                "RulesChanged",
            },
        ),
        ("routing", "streets.events", {"StreetThresholdCrossed"}),
        ("routing", "wijkhubs.events", {"WijkhubAdvised", "WijkhubOpened", "WijkhubClosed"}),
        ("budget", "budget.events", {"InitiativeProposed", "BallotCast", "RoundDecided"}),
        ("notify", "notify.deadletters", set()),
    ],
)
async def test_asyncapi_lists_each_published_topic_with_its_contract_payload(
    service: str, topic: str, models: set[str]
) -> None:
    doc = await _asyncapi(service)
    published = _published(doc)
    assert topic in published, sorted(published)
    payload = _payload(doc, published[topic])
    assert payload, f"{topic} has no payload schema"
    assert models <= _models(doc, payload), _models(doc, payload)
    for member in payload.get("anyOf", [payload]):
        resolved = _resolve(doc, member)
        assert resolved.get("properties") or resolved.get("type"), member
    if models:
        assert all(t.startswith("nl.wijkaanpak.") for t in _types(published[topic]))


def _types(channel: dict[str, Any]) -> list[str]:
    described = channel["description"].split("type: ", 1)[1].rstrip(".")
    return described.split(", ")


async def test_consumed_topics_show_the_events_they_carry_not_an_empty_payload() -> None:
    intake, routing = await _asyncapi("intake"), await _asyncapi("routing")
    partner_events = next(
        ch for ch in intake["channels"].values() if ch["address"] == "partners.{partner}.events"
    )
    assert _models(intake, _payload(intake, partner_events)) == {
        "SignalData",
        "AcknowledgedData",
        "ResolvedData",
    }
    signals = next(
        ch
        for name, ch in routing["channels"].items()
        if ch["address"] == "signals.accepted" and " -> " not in name
    )
    assert _models(routing, _payload(routing, signals)) == {"SignalAccepted"}
