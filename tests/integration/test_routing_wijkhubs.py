"""The wijkhub against the real broker and PostgreSQL: De Hoogte's story from the advice to the
evaluation, the decisions and their refusals, who sees what, and a replay that equals live.

Each test has a broker of its own, so a replay reads only the test's own topics.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from contracts import topics
from contracts.envelope import new_event, to_json_bytes
from contracts.events import FEEDBACK_RECEIVED_TYPE, FeedbackReceived, SignalAccepted
from services.routing import replay
from services.routing.app import RoutingSettings, build
from tests.integration.test_intake_audit import wijkbus
from tests.integration.test_routing_flow import PARTNERS, Clock, signal_event
from tests.support import demo_registry, eventually, produce, running_app
from tools.devstack import DemoCredentials
from tools.simulate import COMPARISON_STREETS, HUB_STREET, StoryIncident, de_hoogte_story
from wijkbus.infra import EmbeddedBroker

T0 = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)  # 22:00 in Groningen
ZONE = ZoneInfo("Europe/Amsterdam")
INTAKE = "urn:nld:wijkbus:intake"
RULES = """\
version: "hub-1"
municipality: Groningen
rules:
  - id: wijkhub-team
    match: {wijkhub: true}
    responder: wij-groningen
    acknowledge_within_hours: 4
  - id: standaard
    default: true
    responder: gemeente-groningen
    acknowledge_within_hours: 48
thresholds:
  - id: wijkhub
    categorie: [overlast]
    window_days: 30
    count: 5
    advice: Vijf keer overlast in 30 dagen; overweeg een wijkhub.
"""


def key_of(street: str) -> str:
    return f"naam:groningen:{street.lower()}"


@dataclass
class Hubs:
    """A running routing service with a broker of its own, and how the test talks to it."""

    http: httpx.AsyncClient
    creds: DemoCredentials
    database_url: str
    bootstrap: str
    clock: Clock

    @property
    def operator(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.creds.operator_token}"}

    def partner(self, partner_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.creds.api_keys[partner_id]}"}

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.database_url, server_settings={"search_path": "routing"})
        try:
            return await conn.fetch(query, *args)
        finally:
            await conn.close()

    async def send(self, incidents: list[StoryIncident]) -> list[SignalAccepted]:
        """Publish the incidents as intake does; wait until routing assigned every one."""
        signals = [_accepted(i) for i in incidents]
        for s in signals:
            value = to_json_bytes(signal_event(s))
            await produce(self.bootstrap, topics.SIGNALS_ACCEPTED, value, key=s.street_key.encode())
        for s in signals:
            await self.assignment(s.signal_id)
        return signals

    async def assignment(self, signal_id: str, status: str | None = None) -> asyncpg.Record:
        async def found() -> asyncpg.Record | None:
            rows = await self.fetch("SELECT * FROM assignments WHERE signal_id = $1", signal_id)
            return rows[0] if rows and status in (None, rows[0]["status"]) else None

        return await eventually(found, what=f"assignment of {signal_id}")

    async def acknowledge(self, signal: SignalAccepted, after: timedelta) -> None:
        """The assigned partner takes the signal on `after` its acceptance."""
        partner = (await self.assignment(signal.signal_id))["partner_id"]
        data = FeedbackReceived(
            signal_id=signal.signal_id, partner_id=partner, kind="opgepakt", outcome=None,
            received_at=signal.received_at + after,
        )  # fmt: skip
        event = new_event(FEEDBACK_RECEIVED_TYPE, INTAKE, data, subject=signal.signal_id)
        await produce(
            self.bootstrap, topics.SIGNALS_FEEDBACK, to_json_bytes(event),
            key=signal.signal_id.encode(),
        )  # fmt: skip
        await self.assignment(signal.signal_id, "opgepakt")

    async def outbox(self, topic: str) -> list[dict[str, Any]]:
        rows = await self.fetch("SELECT value FROM outbox WHERE topic = $1 ORDER BY id", topic)
        return [json.loads(r["value"]) for r in rows]


def _accepted(incident: StoryIncident) -> SignalAccepted:
    return SignalAccepted(
        signal_id=str(uuid.uuid4()), partner_id="woonstichting-noord",
        event_source="urn:nld:kvknr:12345678:systeem:huurbeheer", event_id=uuid.uuid4().hex,
        categorie=incident.categorie, subcategory=None, severity="normaal",  # type: ignore[arg-type]
        observed_at=incident.observed_at, received_at=incident.received_at,
        street_key=key_of(incident.street), street=incident.street, city="Groningen",
        buurt_code="BU00140107", openbareruimte_id=None,
    )  # fmt: skip


@pytest.fixture
async def hubs(fresh_database: str, tmp_path: Path) -> AsyncIterator[Hubs]:
    registry, creds = demo_registry()
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    broker = EmbeddedBroker().start()
    try:
        settings = RoutingSettings(
            database_url=fresh_database,
            kafka_bootstrap_servers=broker.bootstrap,
            operator_token=creds.operator_token,
            rules_file=rules,
            escalation_interval_s=3600,
        )
        clock = Clock()
        clock.now = T0
        async with (
            running_app(build(settings, partners=registry, clock=clock)) as url,
            httpx.AsyncClient(base_url=url, timeout=30) as http,
        ):
            yield Hubs(http, creds, fresh_database, broker.bootstrap, clock)
    finally:
        broker.stop()


def plan(street: str, **changes: Any) -> dict[str, Any]:
    body = {
        "street_keys": [key_of(street)],
        "address": f"{street} 43",
        "starts_on": T0.astimezone(ZONE).date().isoformat(),
        "ends_on": (T0.astimezone(ZONE).date() + timedelta(days=41)).isoformat(),
        "partners": ["politie-groningen", "wij-groningen"],
        "contact": {"name": "Wijkagent Canary", "role": "wijkagent", "phone": "06-12345678"},
        "aims": "Laten zien dat de gemeente er is; sneller oplossingen; contact met bewoners.",
    }
    return {**body, **changes}


async def test_de_hoogte_from_advice_to_evaluation_and_a_replay_that_equals_live(
    hubs: Hubs, tmp_path: Path
) -> None:
    story = de_hoogte_story(T0, weeks=6)
    canary = f"CANARY-{uuid.uuid4().hex}"
    before = await hubs.send(story["voor"])
    hub_before = [s for s in before if s.street == HUB_STREET]
    for s in hub_before:
        await hubs.acknowledge(s, timedelta(hours=10))

    # The advice, with the incidents behind it: counts per categorie, partner and week.
    advice = (await hubs.http.get("/api/v1/wijkhubs/advice", headers=hubs.operator)).json()
    [asinga] = [a for a in advice if a["street_key"] == key_of(HUB_STREET)]
    assert asinga["incidents"]["per_categorie"] == {"overlast": 15}
    assert asinga["incidents"]["per_partner"] == {"woonstichting-noord": 15}
    assert sum(n for _, n in asinga["incidents"]["per_week"]) == 15
    [advised] = [
        e for e in await hubs.outbox(topics.WIJKHUBS_EVENTS) if e["subject"] == key_of(HUB_STREET)
    ]
    assert advised["type"] == "nl.wijkaanpak.wijkhub.advised"

    # Opening: only an operator; a second hub on the same street in that period is refused.
    body = plan(HUB_STREET, contact={"name": canary, "role": "wijkagent", "phone": "0612345678"})
    assert (await hubs.http.post("/api/v1/wijkhubs", json=body)).status_code == 401
    as_partner = hubs.partner("politie-groningen")
    assert (  # a partner's key is known but not an operator's: forbidden, not unauthenticated
        await hubs.http.post("/api/v1/wijkhubs", json=body, headers=as_partner)
    ).status_code == 403
    opened = await hubs.http.post("/api/v1/wijkhubs", json=body, headers=hubs.operator)
    assert opened.status_code == 201, opened.text
    hub = opened.json()
    assert hub["status"] == "lopend" and hub["streets"] == ["Asingastraat, Groningen"]
    assert datetime.fromisoformat(hub["starts_at"]) == T0  # not before it was opened
    ends_at = datetime(2027, 1, 1, tzinfo=ZONE)  # after the last day, 31 December
    assert datetime.fromisoformat(hub["ends_at"]) == ends_at
    again = await hubs.http.post("/api/v1/wijkhubs", json=plan(HUB_STREET), headers=hubs.operator)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    advice = (await hubs.http.get("/api/v1/wijkhubs/advice", headers=hubs.operator)).json()
    assert key_of(HUB_STREET) not in {a["street_key"] for a in advice}

    # The partners taking part see the hub and the contact's name and role; others do not.
    hub_id = hub["hub_id"]
    police = await hubs.http.get("/api/v1/wijkhubs", headers=as_partner)
    assert [h["hub_id"] for h in police.json()] == [hub_id]
    corporation = hubs.partner("woonstichting-noord")
    assert (await hubs.http.get("/api/v1/wijkhubs", headers=corporation)).json() == []
    assert (
        await hubs.http.get(f"/api/v1/wijkhubs/{hub_id}", headers=corporation)
    ).status_code == 404
    contact = await hubs.http.get(f"/api/v1/wijkhubs/{hub_id}/contact", headers=as_partner)
    assert contact.json() == {"name": canary, "role": "wijkagent"}
    full = await hubs.http.get(f"/api/v1/wijkhubs/{hub_id}/contact", headers=hubs.operator)
    assert full.json()["phone"] == "0612345678"
    assert canary not in json.dumps(hub)

    # During the hub: its street's signals are marked, and the hub team picks them up first.
    during: list[SignalAccepted] = []
    for week in range(6):
        hubs.clock.now = T0 + timedelta(weeks=week, hours=1)
        this_week = [i for i in story["tijdens"] if i.received_at == hubs.clock.now]
        during += await hubs.send(this_week)
    for s in during:
        row = await hubs.assignment(s.signal_id)
        on_hub_street = s.street == HUB_STREET
        assert row["wijkhub_id"] == (hub_id if on_hub_street else None), s.street
        assert row["rule_id"] == ("wijkhub-team" if on_hub_street else "standaard")
        if on_hub_street:
            await hubs.acknowledge(s, timedelta(hours=2))
    assigned = [
        e for e in await hubs.outbox(topics.ROUTING_EVENTS)
        if e["type"] == "nl.wijkaanpak.routing.assigned" and e["data"].get("wijkhub_id")
    ]  # fmt: skip
    assert len(assigned) == 6

    # Closing: the evaluation, computed here independently from the story.
    hubs.clock.now = ends_at + timedelta(hours=1)
    closed = await hubs.http.post(
        f"/api/v1/wijkhubs/{hub_id}/close", json={"outcome_note": "Rustiger in de straat."},
        headers=hubs.operator,
    )  # fmt: skip
    assert closed.status_code == 200, closed.text
    evaluation = closed.json()["evaluation"]
    weeks = (ends_at - T0) / timedelta(weeks=1)
    hub_figures, comparison = evaluation["hub"], evaluation["comparison"]
    assert hub_figures["streets"] == 1 and comparison["streets"] == len(COMPARISON_STREETS)
    assert hub_figures["before"]["incidents"] == 15 and hub_figures["during"]["incidents"] == 6
    assert hub_figures["before"]["per_week"] == pytest.approx(15 / weeks, abs=1e-3)
    assert hub_figures["during"]["per_week"] == pytest.approx(6 / weeks, abs=1e-3)
    assert comparison["before"]["per_street_week"] == pytest.approx(10 / 2 / weeks, abs=1e-3)
    assert comparison["during"]["per_street_week"] == pytest.approx(12 / 2 / weeks, abs=1e-3)
    assert evaluation["difference_in_differences"] == pytest.approx(-10 / weeks, abs=3e-3)
    assert hub_figures["response_before"]["opgepakt_median_hours"] == 10.0
    assert hub_figures["response_during"]["opgepakt_median_hours"] == 2.0
    assert hub_figures["response_during"]["opgepakt_p90_hours"] == 2.0
    assert hub_figures["after"]["incidents"] == 0
    assert sum(w["hub"] for w in evaluation["weekly"]) == 21
    live_view = await hubs.http.get(f"/api/v1/wijkhubs/{hub_id}/evaluation", headers=as_partner)
    assert live_view.json()["hub"]["during"] == hub_figures["during"]

    # Every decision went out on wijkhubs.events, numbers only: the contact never did.
    events = await hubs.outbox(topics.WIJKHUBS_EVENTS)
    mine = [e["type"].rsplit(".", 1)[1] for e in events if e["subject"] == hub_id]
    assert mine == ["opened", "closed"]
    assert canary not in json.dumps(events)
    rows = await hubs.fetch("SELECT value FROM outbox")
    assert not [r for r in rows if canary.encode() in bytes(r["value"])]

    # The report, as the CLI writes it, from the same store: the same numbers, no contact.
    env = {"DATABASE_URL": hubs.database_url}
    as_of = ["--as-of", hubs.clock.now.isoformat()]
    code, out = await wijkbus("report", "wijkhub", hub_id, "--format", "json", *as_of, env=env)
    assert code == 0, out
    assert json.loads(out)["evaluation"] == evaluation
    code, html = await wijkbus("report", "wijkhub", hub_id, "--format", "html", *as_of, env=env)
    assert code == 0 and "aanwijzing, geen bewijs" in html and "<svg" in html
    pdf = tmp_path / "hub.pdf"
    code, out = await wijkbus(
        "report", "wijkhub", hub_id, "--format", "pdf", "--output", str(pdf), *as_of, env=env
    )
    assert code == 0, out
    assert pdf.read_bytes().startswith(b"%PDF")
    assert canary not in html + out and canary.encode() not in pdf.read_bytes()
    (tmp_path / "wijkhub-report.html").write_text(html)  # for a look after the run
    code, out = await wijkbus("report", "wijkhub", f"hub-{'0' * 32}", env=env)
    assert code == 1

    # The trail of a marked signal says it fell in the hub.
    marked = next(s for s in during if s.street == HUB_STREET)
    code, out = await wijkbus("audit", "trail", marked.signal_id, "--format", "json", env=env)
    assert code == 0 and f"in de periode van wijkhub {hub_id}" in out, out

    # The contact person's right to erasure: their key is shredded, the hub stays.
    contact_url = f"/api/v1/wijkhubs/{hub_id}/contact"
    assert (await hubs.http.delete(contact_url, headers=as_partner)).status_code == 403
    assert (await hubs.http.delete(contact_url, headers=hubs.operator)).status_code == 204
    assert (await hubs.http.get(contact_url, headers=hubs.operator)).status_code == 404
    assert (await hubs.http.delete(contact_url, headers=hubs.operator)).status_code == 404
    still = await hubs.http.get(f"/api/v1/wijkhubs/{hub_id}", headers=as_partner)
    assert still.status_code == 200

    # A replay rebuilds the hub, marks the same signals and computes the same evaluation.
    await eventually(lambda: _relayed(hubs), what="routing's outbox relayed to the broker")
    into = f"routing_replay_{uuid.uuid4().hex[:8]}"
    done = await replay.rebuild(
        hubs.database_url, hubs.bootstrap, into, partners=(*PARTNERS, "wij-groningen")
    )
    assert done.refused == []
    differences, _ = await replay.compare(hubs.database_url, into)
    assert differences == []
    rebuilt = await hubs.fetch(
        f"SELECT count(*) AS n FROM {into}.assignments WHERE wijkhub_id = $1", hub_id
    )
    assert rebuilt[0]["n"] == 6


async def _relayed(hubs: Hubs) -> bool:
    rows = await hubs.fetch("SELECT count(*) AS n FROM outbox_backlog")
    return rows[0]["n"] == 0


async def test_decline_extend_close_and_their_refusals(hubs: Hubs) -> None:
    story = de_hoogte_story(T0, weeks=1)
    await hubs.send(story["voor"])
    street = key_of(HUB_STREET)
    decline = f"/api/v1/wijkhubs/advice/{street}/decline"
    refused = await hubs.http.post(decline, json={"reason": " "}, headers=hubs.operator)
    assert refused.status_code == 400
    assert (await hubs.http.post(decline, json={"reason": "x"})).status_code == 401
    declined = await hubs.http.post(
        decline, json={"reason": "Er loopt al een aanpak via de corporatie."}, headers=hubs.operator
    )
    assert declined.status_code == 201, declined.text
    assert declined.json()["reason"].startswith("Er loopt al")
    advice = (await hubs.http.get("/api/v1/wijkhubs/advice", headers=hubs.operator)).json()
    assert street not in {a["street_key"] for a in advice}
    again = await hubs.http.post(decline, json={"reason": "nogmaals"}, headers=hubs.operator)
    assert again.status_code == 409

    # A hub on another street: extended while it runs, then closed once.
    other = COMPARISON_STREETS[0]
    last_day = T0.astimezone(ZONE).date() + timedelta(days=13)
    opened = await hubs.http.post(
        "/api/v1/wijkhubs", json=plan(other, ends_on=last_day.isoformat()), headers=hubs.operator
    )
    assert opened.status_code == 201, opened.text
    hub_id = opened.json()["hub_id"]
    url = f"/api/v1/wijkhubs/{hub_id}"
    shorter = await hubs.http.post(
        f"{url}/extend", json={"ends_on": (last_day - timedelta(days=1)).isoformat()},
        headers=hubs.operator,
    )  # fmt: skip
    assert shorter.status_code == 409
    later = last_day + timedelta(days=14)
    extended = await hubs.http.post(
        f"{url}/extend", json={"ends_on": later.isoformat()}, headers=hubs.operator
    )
    assert extended.status_code == 200, extended.text
    ends = datetime.combine(later + timedelta(days=1), datetime.min.time(), ZONE)
    assert datetime.fromisoformat(extended.json()["ends_at"]) == ends
    hubs.clock.now = T0 + timedelta(days=3)
    first = await hubs.http.post(
        f"{url}/close", json={"outcome_note": "Klaar."}, headers=hubs.operator
    )
    assert first.status_code == 200
    period_end = first.json()["evaluation"]["period_end"]
    assert datetime.fromisoformat(period_end) == hubs.clock.now
    second = await hubs.http.post(
        f"{url}/close", json={"outcome_note": "Nog eens."}, headers=hubs.operator
    )
    assert second.status_code == 409
    after = await hubs.http.post(
        f"{url}/extend", json={"ends_on": later.isoformat()}, headers=hubs.operator
    )
    assert after.status_code == 409
    view = (await hubs.http.get(url, headers=hubs.operator)).json()
    assert view["status"] == "gesloten"

    # Refusals with a precise answer: unknown hub, malformed id, a plan in the past, an
    # unknown street or partner.
    unknown = f"/api/v1/wijkhubs/hub-{uuid.uuid4().hex}"
    assert (await hubs.http.get(unknown, headers=hubs.operator)).status_code == 404
    assert (await hubs.http.post(f"{unknown}/close", json={"outcome_note": "x"},
                                 headers=hubs.operator)).status_code == 404  # fmt: skip
    assert (await hubs.http.get("/api/v1/wijkhubs/nope", headers=hubs.operator)).status_code == 400
    past = plan(COMPARISON_STREETS[1], starts_on=date(2026, 11, 1).isoformat())
    bad = await hubs.http.post("/api/v1/wijkhubs", json=past, headers=hubs.operator)
    assert bad.status_code == 400 and "past" in bad.text
    nowhere = plan("Nergensstraat", partners=["politie-groningen", "niemand"])
    bad = await hubs.http.post("/api/v1/wijkhubs", json=nowhere, headers=hubs.operator)
    assert bad.status_code == 400
    messages = [e["message"] for e in bad.json()["errors"]]
    assert any("nergensstraat" in m for m in messages) and any("niemand" in m for m in messages)
