"""Routing tells who holds which signal and who is late: a log line and a count per assignment
and escalation, and the open and late assignments per partner counted at scrape."""

from __future__ import annotations

from datetime import timedelta

import httpx
import structlog
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from tests.integration import test_routing_escalation as escalation
from tests.integration.test_routing_escalation import AppFactory
from tests.integration.test_routing_flow import START, Router
from tests.support import running_app

POLICE, WIJ = "politie-groningen", "wij-groningen"
setup = escalation.setup  # the same router and app factory


async def per_partner(url: str) -> dict[str, dict[str, float]]:
    """The open and late assignment gauges of a scrape, by partner."""
    async with httpx.AsyncClient(timeout=30) as http:
        text = (await http.get(url + "/metrics")).text
    found: dict[str, dict[str, float]] = {"open": {}, "late": {}}
    for family in text_string_to_metric_families(text):
        kind = {
            "wijkbus_routing_open_assignments": "open",
            "wijkbus_routing_late_assignments": "late",
        }.get(family.name)
        for sample in family.samples if kind else ():
            found[kind][sample.labels["partner"]] = sample.value
    return found


def counted(name: str, partner: str) -> float:
    return REGISTRY.get_sample_value(name, {"partner": partner}) or 0.0


async def test_assignments_and_a_missed_deadline_are_logged_counted_and_gauged(
    setup: tuple[Router, AppFactory],
) -> None:
    router, make = setup
    app = make(3600)  # the escalator's round runs at start only; the test fires it by hand
    assigned_before = counted("wijkbus_routing_assignments_total", POLICE)
    missed_before = counted("wijkbus_routing_escalations_total", POLICE)
    with structlog.testing.capture_logs() as logged:
        async with running_app(app) as url:
            signal = router.signal("overlast")
            await router.send(signal)
            await router.assignment(signal.signal_id)
            gauges = await per_partner(url)
            assert (gauges["open"][POLICE], gauges["late"][POLICE]) == (1, 0)
            assert gauges["open"][WIJ] == 0  # every partner of the registry, none missing

            router.clock.now = START + timedelta(hours=8, minutes=1)  # past acknowledge_by
            gauges = await per_partner(url)
            assert (gauges["open"][POLICE], gauges["late"][POLICE]) == (1, 1)

            assert await app.state.escalator.fire_due() == 1
            gauges = await per_partner(url)
            assert (gauges["open"][POLICE], gauges["late"][POLICE]) == (0, 0)
            assert (gauges["open"][WIJ], gauges["late"][WIJ]) == (1, 0)
    assert counted("wijkbus_routing_assignments_total", POLICE) == assigned_before + 1
    assert counted("wijkbus_routing_escalations_total", POLICE) == missed_before + 1
    told = [(e["event"], e.get("signal_id"), e.get("partner_id")) for e in logged]
    assert told.count(("signal assigned", signal.signal_id, POLICE)) == 1
    [escalated] = [e for e in logged if e["event"] == "assignment escalated"]
    assert (escalated["partner_id"], escalated["to_partner_id"]) == (POLICE, WIJ)
