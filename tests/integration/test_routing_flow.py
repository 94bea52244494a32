"""Routing against the real broker and PostgreSQL: assign, count, feedback, dead letters, API.

The broker is shared by the whole session, so every test uses streets and signal ids of its own
and ignores whatever other tests put on the same topics.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from contracts import topics
from contracts.codec import decoder
from contracts.envelope import CloudEvent, new_event, to_json_bytes
from contracts.events import (
    FEEDBACK_RECEIVED_TYPE,
    ROUTING_ACKNOWLEDGED_TYPE,
    ROUTING_ASSIGNED_TYPE,
    ROUTING_RESOLVED_TYPE,
    SIGNAL_ACCEPTED_TYPE,
    FeedbackReceived,
    SignalAccepted,
)
from services.routing.app import RoutingSettings, build
from services.routing.handlers import Routing
from services.routing.rule_parsing import parse_rules
from tests.support import (
    consume_json,
    demo_registry,
    eventually,
    groups_at_end,
    produce,
    running_app,
    unique,
)

INTAKE = "urn:nld:wijkbus:intake"
START = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
RULES = """\
version: "test-1"
municipality: Groningen
rules:
  - id: overlast-de-hoogte
    match: {categorie: [overlast], buurt: [BU00140107]}
    responder: politie-groningen
    acknowledge_within_hours: 8
    escalation:
      - {partner: gemeente-groningen, acknowledge_within_hours: 24}
  - id: standaard
    default: true
    responder: gemeente-groningen
    acknowledge_within_hours: 48
"""


ROUTING_CONSUMERS = {
    "signals": [topics.SIGNALS_ACCEPTED],
    "feedback": [topics.SIGNALS_FEEDBACK],
}


async def routing_groups(bootstrap: str) -> str:
    """Consumer groups of the test's own that begin at the topics' current end."""
    return await groups_at_end(bootstrap, "routing", ROUTING_CONSUMERS)


PARTNERS = ["gemeente-groningen", "politie-groningen", "woonstichting-noord", "wij-groningen"]


def signal_event(signal: SignalAccepted) -> CloudEvent:
    """`signal` as intake publishes it."""
    return new_event(
        SIGNAL_ACCEPTED_TYPE, INTAKE, signal, id=signal.signal_id, subject=signal.signal_id
    )


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Router:
    """A running routing service and how a test talks to it."""

    http: httpx.AsyncClient
    operator: dict[str, str]
    database_url: str
    bootstrap: str
    clock: Clock
    street: str
    partner_keys: dict[str, str] = field(default_factory=dict)  # the partners' API keys

    @property
    def street_key(self) -> str:
        return f"naam:groningen:{self.street.lower()}"

    def signal(self, categorie: str = "overlast", **changes: Any) -> SignalAccepted:
        """An accepted signal on this test's own street."""
        fields: dict[str, Any] = {
            "signal_id": str(uuid.uuid4()),
            "partner_id": "woonstichting-noord",
            "event_source": "urn:nld:kvknr:12345678:systeem:huurbeheer",
            "event_id": unique("HB"),
            "categorie": categorie,
            "subcategory": None,
            "severity": "normaal",
            "observed_at": START - timedelta(hours=1),
            "received_at": START,
            "street_key": self.street_key,
            "street": self.street,
            "city": "Groningen",
            "buurt_code": "BU00140107",
            "openbareruimte_id": None,
        }
        return SignalAccepted(**{**fields, **changes})

    async def send(self, signal: SignalAccepted) -> bytes:
        """Publish `signal` on signals.accepted as intake does; return the record's value."""
        value = to_json_bytes(signal_event(signal))
        await self.send_raw(value)
        return value

    async def send_raw(self, value: bytes) -> None:
        """Publish a record on signals.accepted, keyed by this test's street (one partition)."""
        await produce(self.bootstrap, topics.SIGNALS_ACCEPTED, value, key=self.street_key.encode())

    async def feedback(self, signal_id: str, partner: str, kind: str, at: datetime) -> None:
        """Publish feedback on signals.feedback as intake does."""
        data = FeedbackReceived(
            signal_id=signal_id,
            partner_id=partner,
            kind=kind,  # type: ignore[arg-type]
            outcome="opgelost" if kind == "afgehandeld" else None,
            received_at=at,
        )
        event = new_event(FEEDBACK_RECEIVED_TYPE, INTAKE, data, subject=signal_id, time=at)
        await produce(
            self.bootstrap, topics.SIGNALS_FEEDBACK, to_json_bytes(event), key=signal_id.encode()
        )

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.database_url, server_settings={"search_path": "routing"})
        try:
            return await conn.fetch(query, *args)
        finally:
            await conn.close()

    async def assignment(self, signal_id: str, status: str = "toegewezen") -> asyncpg.Record:
        """Wait until the signal's assignment has `status`; return it."""

        async def found() -> asyncpg.Record | None:
            rows = await self.fetch(
                "SELECT * FROM assignments WHERE signal_id = $1 AND status = $2", signal_id, status
            )
            return rows[0] if rows else None

        return await eventually(found, what=f"signal {signal_id} {status}")

    async def counts(self) -> dict[str, int]:
        rows = await self.fetch(
            "SELECT categorie, count FROM street_counts WHERE street_key = $1", self.street_key
        )
        return {r["categorie"]: r["count"] for r in rows}

    async def routing_events(self, signal_id: str, count: int) -> list[dict[str, Any]]:
        """Wait for `count` events about `signal_id` on routing.events."""

        async def mine() -> list[dict[str, Any]] | None:
            records = await consume_json(
                self.bootstrap, topics.ROUTING_EVENTS, count=10**6, timeout=2
            )
            found = [r for r in records if r.get("subject") == signal_id]
            return found if len(found) >= count else None

        return await eventually(mine, what=f"{count} routing events for {signal_id}")


@asynccontextmanager
async def serve_routing(
    rules_text: str,
    database_url: str,
    bootstrap: str,
    tmp_path: Path,
    *,
    street: str = "Teststraat",
    as_operator: bool = False,
    **settings: Any,
) -> AsyncIterator[Router]:
    """A running routing service on `rules_text` (more RoutingSettings in `settings`), and how a
    test talks to it; with `as_operator`, every request bears the operator token."""
    registry, creds = demo_registry()
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules_text)
    token = settings.pop("operator_token", creds.operator_token)  # another service's, to share
    config = RoutingSettings(
        database_url=database_url,
        kafka_bootstrap_servers=bootstrap,
        operator_token=token,
        rules_file=rules,
        group_prefix=await routing_groups(bootstrap),
        **settings,
    )
    clock = Clock()
    operator = {"Authorization": f"Bearer {token}"}
    async with (
        running_app(build(config, partners=registry, clock=clock)) as url,
        httpx.AsyncClient(
            base_url=url, timeout=30, headers=operator if as_operator else None
        ) as http,
    ):
        yield Router(
            http, operator, database_url, bootstrap, clock, unique(street), dict(creds.api_keys)
        )


@pytest.fixture
async def router(
    fresh_database: str, kafka_bootstrap: str, tmp_path: Path
) -> AsyncIterator[Router]:
    async with serve_routing(RULES, fresh_database, kafka_bootstrap, tmp_path) as running:
        yield running


async def test_accepted_signals_are_assigned_counted_and_announced(router: Router) -> None:
    overlast = [router.signal("overlast") for _ in range(2)]
    vervuiling = router.signal("vervuiling")
    for signal in [*overlast, vervuiling]:
        await router.send(signal)

    first = await router.assignment(overlast[0].signal_id)
    other = await router.assignment(vervuiling.signal_id)
    await router.assignment(overlast[1].signal_id)
    assert (first["partner_id"], first["rule_id"]) == ("politie-groningen", "overlast-de-hoogte")
    assert (other["partner_id"], other["rule_id"]) == ("gemeente-groningen", "standaard")
    assert {first["ruleset_version"], other["ruleset_version"]} == {"test-1"}
    assert first["acknowledge_by"] == START + timedelta(hours=8)
    assert await router.counts() == {"overlast": 2, "vervuiling": 1}
    incidents = await router.fetch(
        "SELECT count(*) AS n FROM street_incidents WHERE street_key = $1", router.street_key
    )
    assert incidents[0]["n"] == 3
    stored = await router.fetch("SELECT version, body FROM rulesets")
    assert [(r["version"], r["body"]) for r in stored] == [("test-1", RULES)]

    [event] = await router.routing_events(overlast[0].signal_id, 1)
    assert event["type"] == ROUTING_ASSIGNED_TYPE
    assert event["source"] == "urn:nld:wijkbus:routing"
    assert event["id"] == f"assigned-{overlast[0].signal_id}"
    assert event["data"]["partner_id"] == "politie-groningen"
    assert event["data"]["ruleset_version"] == "test-1"
    keys = await router.fetch(
        "SELECT topic, key FROM outbox WHERE value LIKE $1",
        f"%{overlast[0].signal_id}%".encode(),
    )
    assert [(r["topic"], bytes(r["key"])) for r in keys] == [
        (topics.ROUTING_EVENTS, overlast[0].signal_id.encode())
    ]


async def test_the_same_signal_delivered_again_changes_nothing(router: Router) -> None:
    signal = router.signal("overlast")
    value = await router.send(signal)
    await router.send_raw(value)
    # A later record on the same partition proves both copies were handled before it.
    marker = router.signal("vernieling")
    await router.send(marker)
    await router.assignment(marker.signal_id)
    assert await router.counts() == {"overlast": 1, "vernieling": 1}

    # A replay under another consumer name passes the inbox; the assignment key still holds.
    replayer = Routing(parse_rules(RULES, PARTNERS), router.clock)
    conn = await asyncpg.connect(router.database_url, server_settings={"search_path": "routing"})
    try:
        async with conn.transaction():
            typed = decoder(SignalAccepted)(to_json_bytes(signal_event(signal)))
            await replayer.on_signals(conn, [typed])
    finally:
        await conn.close()
    assert await router.counts() == {"overlast": 1, "vernieling": 1}
    announced = await router.fetch(
        "SELECT count(*) AS n FROM outbox WHERE key = $1", signal.signal_id.encode()
    )
    assert announced[0]["n"] == 1


async def test_feedback_from_the_assigned_partner_moves_the_assignment_on(
    router: Router,
) -> None:
    signal = router.signal("overlast")
    await router.send(signal)
    await router.assignment(signal.signal_id)
    taken, done = START + timedelta(hours=1), START + timedelta(hours=3)

    await router.feedback(signal.signal_id, "gemeente-groningen", "opgepakt", START)
    await router.feedback(signal.signal_id, "politie-groningen", "opgepakt", taken)
    acknowledged = await router.assignment(signal.signal_id, "opgepakt")
    # The other partner's feedback came first on the same partition and was ignored.
    assert acknowledged["acknowledged_at"] == taken

    await router.feedback(signal.signal_id, "politie-groningen", "afgehandeld", done)
    resolved = await router.assignment(signal.signal_id, "afgehandeld")
    assert (resolved["resolved_at"], resolved["outcome"]) == (done, "opgelost")

    events = await router.routing_events(signal.signal_id, 3)
    assert [e["type"] for e in events] == [
        ROUTING_ASSIGNED_TYPE,
        ROUTING_ACKNOWLEDGED_TYPE,
        ROUTING_RESOLVED_TYPE,
    ]
    assert events[1]["data"] == {
        "signal_id": signal.signal_id,
        "partner_id": "politie-groningen",
        "acknowledged_at": "2026-11-20T22:00:00Z",
        "street_key": router.street_key,
        "buurt_code": "BU00140107",
    }
    assert events[2]["data"]["outcome"] == "opgelost"
    assert events[2]["data"]["street_key"] == router.street_key


async def test_malformed_records_are_dead_lettered_and_the_next_one_is_handled(
    router: Router,
) -> None:
    marker = unique("kapot")
    not_json = f"not a cloudevent {marker}".encode()
    bad_data = to_json_bytes(
        new_event(SIGNAL_ACCEPTED_TYPE, INTAKE, router.signal(), id=marker)
    ).replace(b'"categorie":"overlast"', b'"categorie":"lawaai"')
    wrong_type = to_json_bytes(
        new_event("nl.wijkaanpak.iets-anders", INTAKE, router.signal(), id=marker)
    )
    for value in (not_json, bad_data, wrong_type):
        await router.send_raw(value)
    good = router.signal("overlast")
    await router.send(good)

    await router.assignment(good.signal_id)
    assert await router.counts() == {"overlast": 1}
    rows = await router.fetch(
        "SELECT consumer, reason FROM dead_letters WHERE value LIKE $1 ORDER BY id",
        f"%{marker}%".encode(),
    )
    assert [r["consumer"] for r in rows] == ["signals"] * 3
    assert "not a CloudEvent" in rows[0]["reason"]
    assert rows[1]["reason"].startswith("invalid: data.categorie: Input should be 'overlast'")
    assert "unexpected event type 'nl.wijkaanpak.iets-anders'" in rows[2]["reason"]
    page = await router.http.get("/dashboard", headers=router.operator)
    shown = page.text
    for dutch in (
        "bericht is geen CloudEvent",
        "bericht voldoet niet aan het contract (data.categorie)",
        "soort bericht dat deze verwerker niet neemt",
    ):  # the operator reads why in Dutch; the stored reason stays in the tooltip
        assert dutch in shown, dutch


async def test_api_and_dashboard_show_assignments_streets_and_rules(router: Router) -> None:
    signal = router.signal("overlast")
    await router.send(signal)
    await router.assignment(signal.signal_id)

    for path in ("/api/v1/assignments", f"/api/v1/streets/{router.street_key}", "/api/v1/rules"):
        refused = await router.http.get(path)
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"

    listed = await router.http.get(
        "/api/v1/assignments",
        params={"partner": "politie-groningen", "status": "toegewezen"},
        headers=router.operator,
    )
    assert listed.status_code == 200
    mine = [a for a in listed.json()["assignments"] if a["signal_id"] == signal.signal_id]
    assert [(a["rule_id"], a["sla"]) for a in mine] == [("overlast-de-hoogte", "op tijd")]
    other = await router.http.get(
        "/api/v1/assignments", params={"partner": "gemeente-groningen"}, headers=router.operator
    )
    assert signal.signal_id not in {a["signal_id"] for a in other.json()["assignments"]}
    bad = await router.http.get(
        "/api/v1/assignments", params={"status": "vergeten"}, headers=router.operator
    )
    assert bad.status_code == 400

    street = await router.http.get(f"/api/v1/streets/{router.street_key}", headers=router.operator)
    assert street.json()["counts"] == {"overlast": 1}
    assert street.json()["total"] == 1
    unknown = await router.http.get("/api/v1/streets/naam:nergens:niets", headers=router.operator)
    assert unknown.status_code == 404

    rules = (await router.http.get("/api/v1/rules", headers=router.operator)).json()
    assert rules["version"] == "test-1"
    assert [r["id"] for r in rules["rules"]] == ["overlast-de-hoogte", "standaard"]

    assert (await router.http.get("/dashboard")).status_code == 303
    router.clock.now = START + timedelta(hours=9)
    page = await router.http.get("/dashboard", headers=router.operator)
    assert page.status_code == 200
    assert router.street in page.text
    assert "te laat" in page.text
    assert "versie <strong>test-1</strong>" in page.text


async def test_late_filter_lists_open_assignments_past_their_deadline(router: Router) -> None:
    waiting, taken, done = (router.signal("overlast") for _ in range(3))
    for signal in (waiting, taken, done):
        await router.send(signal)
    for signal in (waiting, taken, done):
        await router.assignment(signal.signal_id)
    # All three go to politie-groningen with 8 hours to acknowledge (until START + 8 h).
    await router.feedback(taken.signal_id, "politie-groningen", "opgepakt", START)
    await router.feedback(done.signal_id, "politie-groningen", "afgehandeld", START)
    await router.assignment(taken.signal_id, "opgepakt")
    await router.assignment(done.signal_id, "afgehandeld")
    mine = {waiting.signal_id, taken.signal_id, done.signal_id}

    async def listed(**params: str) -> dict[str, str]:
        response = await router.http.get(
            "/api/v1/assignments",
            params={"partner": "politie-groningen", "limit": "1000", **params},
            headers=router.operator,
        )
        assert response.status_code == 200
        found = response.json()["assignments"]
        return {a["signal_id"]: a["sla"] for a in found if a["signal_id"] in mine}

    assert await listed(late="true") == {}
    assert set(await listed(late="false")) == mine

    router.clock.now = START + timedelta(hours=9)
    assert await listed(late="true") == {waiting.signal_id: "te laat"}
    # Afgehandeld is no longer open, so never late, whatever its SLA state says.
    assert set(await listed(late="false")) == {taken.signal_id, done.signal_id}
    assert await listed(late="true", status="opgepakt") == {}

    bad = await router.http.get(
        "/api/v1/assignments", params={"late": "misschien"}, headers=router.operator
    )
    assert bad.status_code == 400
