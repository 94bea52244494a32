"""After a small run of the real stack (four processes): every metric a Grafana panel or an alert
rule reads is exported by a service's /metrics, name by name, and the services' logs tell what
happened to each event — without the personal data it carried."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from contracts.events import ROUTING_ASSIGNED_TYPE
from tests import monitoring
from tests.e2e.conftest import Receiver
from tests.e2e.test_typical_journey import (
    CE,
    CORP,
    SOURCE,
    _async,
    a_street,
    partner_key,
    subscribe,
)
from tests.support import encode, eventually, signal_event
from tools.devstack import SERVICES, ServiceProcesses


def canary_person() -> dict[str, Any]:
    """A person whose name, phone and e-mail occur nowhere else."""
    tag = uuid.uuid4().hex[:10]
    return {
        "name": f"Kanarie Vogelzang-{tag}",
        "phone": "06" + str(uuid.uuid4().int)[:8],
        "email": f"kanarie.{tag}@voorbeeld.nl",
        "arrears_cents": 123456,
        "arrears_since": "2026-08-01",
    }


async def a_small_run(stack: ServiceProcesses, receiver: Receiver) -> dict[str, Any]:
    """One signal accepted, sent again (a duplicate), two refused (one carrying a person where
    none may be, one whose type is the person's name); its assignment delivered by webhook."""
    street, key = a_street()
    await subscribe(stack, receiver, street_key=key)
    person = canary_person()
    accepted = signal_event(SOURCE[CORP], street=street)
    person_not_allowed = signal_event(SOURCE[CORP], street=street, person=person)
    named_type = {**signal_event(SOURCE[CORP], street=street), "type": person["name"]}
    answers = []
    async with httpx.AsyncClient(base_url=stack.url("intake"), timeout=30) as http:
        for event in (accepted, accepted, person_not_allowed, named_type):
            response = await http.post(
                "/api/v1/events", content=encode(event), headers={**CE, **partner_key(stack)}
            )
            answers.append(response.status_code)
    assert answers == [202, 202, 400, 400], answers
    await eventually(
        lambda: _async(receiver.events(ROUTING_ASSIGNED_TYPE)), what="the routing.assigned webhook"
    )
    return person


async def scraped(stack: ServiceProcesses) -> dict[str, dict[str, list[Any]]]:
    """Every service's /metrics: sample name -> its samples."""
    found: dict[str, dict[str, list[Any]]] = {}
    async with httpx.AsyncClient(timeout=30) as http:
        for service in SERVICES:
            response = await http.get(stack.url(service) + "/metrics")
            assert response.status_code == 200, service
            samples = found.setdefault(service, {})
            for family in text_string_to_metric_families(response.text):
                for sample in family.samples:
                    samples.setdefault(sample.name, []).append(sample)
    return found


def total(samples: list[Any], **labels: str) -> float:
    """The sum of the samples whose labels include `labels`."""
    return sum(s.value for s in samples if labels.items() <= s.labels.items())


async def test_every_metric_a_panel_or_alert_reads_is_exported_after_a_small_run(
    stack: ServiceProcesses, receiver: Receiver
) -> None:
    await a_small_run(stack, receiver)
    exported = await scraped(stack)
    everywhere = {name for samples in exported.values() for name in samples}
    missing = [
        f"{where}: {name}"
        for where, expr in monitoring.queries()
        for name in sorted(monitoring.metric_names(expr) - monitoring.PROMETHEUS_OWN)
        if name not in everywhere
    ]
    assert not missing, "read by the deployment, exported by no service:\n" + "\n".join(missing)

    # And they count what happened (at least this run; the module's stack is shared).
    intake, routing, notify = exported["intake"], exported["routing"], exported["notify"]
    events = intake["wijkbus_intake_events_total"]
    assert total(events, partner=CORP, outcome="accepted") >= 1
    assert total(events, partner=CORP, outcome="duplicate") >= 1
    assert total(events, partner=CORP, outcome="refused", reason="invalid") >= 2
    requests = intake["wijkbus_http_requests_total"]
    assert total(requests, route="/api/v1/events", method="POST", status="202") >= 2
    assert total(requests, route="/api/v1/events", method="POST", status="400") >= 2
    assert all("{" in s.labels["route"] or "/" in s.labels["route"] for s in requests)
    assert total(routing["wijkbus_routing_assignments_total"]) >= 1
    assert total(routing["wijkbus_routing_open_assignments"]) >= 1
    assert total(notify["wijkbus_notify_delivery_attempts_total"], verdict="delivered") >= 1
    assert {s.labels["group"] for s in routing["wijkbus_consumer_lag"]} >= {"routing.signals"}


async def test_the_logs_tell_each_event_assignment_and_delivery_and_no_person(
    stack: ServiceProcesses, receiver: Receiver
) -> None:
    person = await a_small_run(stack, receiver)

    def lines(service: str) -> list[dict[str, Any]]:
        text = (stack.workdir / "logs" / f"{service}.log").read_text()
        return [json.loads(ln) for ln in text.splitlines() if ln.startswith("{")]

    async def told() -> bool:
        said = {e["event"] for e in lines("intake")}
        return {"event accepted", "event duplicate", "event refused"} <= said and any(
            e["event"] == "signal assigned" for e in lines("routing")
        )

    await eventually(told, what="intake's and routing's log lines")
    refused = [e for e in lines("intake") if e["event"] == "event refused"]
    assert refused and all(e["partner_id"] == CORP and e["reason"] for e in refused)
    accepted = [e for e in lines("intake") if e["event"] == "event accepted"]
    assert all(e["type"].startswith("nl.wijkaanpak.") for e in accepted)
    assert {"service", "timestamp", "level"} <= accepted[0].keys()
    for service in SERVICES:
        text = (stack.workdir / "logs" / f"{service}.log").read_text()
        assert any(e["event"] == "service started" for e in lines(service)), service
        for field in ("name", "phone", "email"):
            assert str(person[field]).casefold() not in text.casefold(), (service, field)
