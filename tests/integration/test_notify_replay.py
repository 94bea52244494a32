"""`wijkbus replay notify`: the delivery queue rebuilt from the topics equals the live one, now and
at a moment in the past, for subscriptions created and deleted along the way, also while an
event is being fanned out; what live handled after the replay began is left out; a live delivery
deleted or added by hand is reported."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import asyncpg

from contracts import topics
from contracts.envelope import CloudEvent, new_event, to_json_bytes
from contracts.events import (
    INITIATIVE_FUNDED_TYPE,
    ROUTING_ASSIGNED_TYPE,
    STREET_THRESHOLD_CROSSED_TYPE,
    InitiativeFunded,
    StreetThresholdCrossed,
)
from services.notify import replay
from tests.integration.test_intake_audit import wijkbus
from tests.integration.test_notify_flow import (
    CORP,
    POLICE,
    Notify,
    Receiver,
    assignment,
    delivered,
    notify,
    receiver,
)
from tests.support import eventually, produce, unique
from tools.devstack import write_partner_registry

__all__ = ["notify", "receiver"]  # the fixtures, used here

BUURT = "BU00140107"
DELIVERIES = (
    "SELECT subscription_id::text, event_source, event_id, event_type FROM {schema}.deliveries"
)
SUBSCRIPTIONS = "SELECT * FROM {schema}.subscriptions ORDER BY id"


def crossed(street_key: str) -> CloudEvent:
    """A streets.threshold-crossed CloudEvent for a street of the test's own."""
    data = StreetThresholdCrossed(
        street_key=street_key,
        street="Replaystraat",
        city="Groningen",
        buurt_code=BUURT,
        rule_id="wijkhub",
        window_days=30,
        counts={"overlast": 3},
        advice="Bespreek een wijkhub.",
        crossed_at=datetime.now(UTC),
    )
    return new_event(
        STREET_THRESHOLD_CROSSED_TYPE, "urn:nld:wijkbus:routing", data, subject=street_key
    )


def funded() -> CloudEvent:
    """A budget.initiative-funded CloudEvent (no partner, no street: no subscription wants it)."""
    initiative = unique("ini")
    data = InitiativeFunded(
        initiative_id=initiative,
        buurt_code=BUURT,
        funding_rule="pledge",
        cost_cents=2500,
        supporters=3,
        reason="de toezeggingen dekken de kosten",
        funded_at=datetime.now(UTC),
    )
    return new_event(INITIATIVE_FUNDED_TYPE, "urn:nld:wijkbus:budget", data, subject=initiative)


async def publish(notify: Notify, *events: CloudEvent) -> None:
    """Publish each event on the topic its producer uses."""
    topic = {
        ROUTING_ASSIGNED_TYPE: topics.ROUTING_EVENTS,
        STREET_THRESHOLD_CROSSED_TYPE: topics.STREETS_EVENTS,
        INITIATIVE_FUNDED_TYPE: topics.BUDGET_EVENTS,
    }
    for event in events:
        await produce(notify.bootstrap, topic[event.type], to_json_bytes(event), key=b"replay")


async def handled(notify: Notify, count: int) -> bool:
    """Whether live notify handled `count` distinct events."""
    [row] = await notify.fetch("SELECT count(*) AS n FROM notify.inbox WHERE consumer = 'events'")
    return bool(row["n"] == count)


async def queued(notify: Notify, schema: str) -> set[tuple[str, str]]:
    """(subscription id, event id) of every delivery queued in `schema`."""
    return {
        (r["subscription_id"], r["event_id"])
        for r in await notify.fetch(DELIVERIES.format(schema=schema))
    }


async def subscribe(notify: Notify, url: str, types: list[str], **filters: str) -> str:
    response = await notify.subscribe(url, types=types, filters=filters)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def said(output: str) -> str:
    """The CLI's output with its line wrapping undone."""
    return " ".join(output.split())


async def test_replay_queues_what_live_queued_now_and_at_a_moment_in_the_past(
    notify: Notify, receiver: Receiver, tmp_path: Path
) -> None:
    env = replay_env(notify, tmp_path)
    street, other = unique("naam:groningen:straat"), unique("naam:groningen:straat")
    street_hook, street_url = receiver.hook()
    _, police_url = receiver.hook([503] * 20)  # never accepts: its deliveries die
    street_types = [ROUTING_ASSIGNED_TYPE, STREET_THRESHOLD_CROSSED_TYPE]
    by_street = await subscribe(notify, street_url, street_types, street_key=street)
    police = await subscribe(notify, police_url, ["nl.wijkaanpak."], partner=POLICE)

    # Before the moment: assignments in and out of the street, for the police and not; a
    # threshold crossed in the street; a funded initiative; one assignment published twice.
    first = [
        assignment(street, POLICE),
        assignment(street, CORP),
        assignment(other, POLICE),
        assignment(other, CORP),
        crossed(street),
        funded(),
    ]
    await publish(notify, first[0], *first)
    await eventually(lambda: handled(notify, 6), what="live notify handled the first six")
    await delivered(receiver, street_hook, 3)
    then = await queued(notify, "notify")
    assert then == {
        (by_street, first[0].id),
        (by_street, first[1].id),
        (by_street, first[4].id),
        (police, first[0].id),
        (police, first[2].id),
    }
    moment = datetime.now(UTC)

    # After it: a new subscription for the street, the police's one deleted, two more events.
    late_hook, late_url = receiver.hook()
    late = await subscribe(notify, late_url, [ROUTING_ASSIGNED_TYPE], street_key=street)
    deleted = await notify.http.delete(f"/api/v1/subscriptions/{police}", headers=notify.auth())
    assert deleted.status_code == 204
    second = [assignment(street, POLICE), crossed(other)]
    await publish(notify, *second)
    await eventually(lambda: handled(notify, 8), what="live notify handled all eight")
    await delivered(receiver, late_hook, 1)
    now = await queued(notify, "notify")
    assert now == then | {(by_street, second[0].id), (late, second[0].id)}
    statuses = {r["status"] for r in await notify.fetch("SELECT status FROM notify.deliveries")}
    assert "delivered" in statuses
    assert statuses - {"delivered"}  # the police's: failing, dead or cancelled

    hits = len(receiver.hits)
    code, output = await wijkbus("replay", "notify", "--into", "replay_now", env=env)
    assert code == 0, output
    assert "9 records read, 8 handled, 1 duplicates skipped" in said(output)
    assert "no differences: the live projection equals the replay in replay_now" in said(output)
    assert await queued(notify, "replay_now") == now
    replayed = await notify.fetch("SELECT DISTINCT status, attempts FROM replay_now.deliveries")
    assert [tuple(r) for r in replayed] == [("pending", 0)]  # nothing was delivered
    assert len(receiver.hits) == hits
    assert await notify.fetch(SUBSCRIPTIONS.format(schema="replay_now")) == await notify.fetch(
        SUBSCRIPTIONS.format(schema="notify")
    )

    # Live moves on after the replay: its new deliveries are left out, not differences.
    last = assignment(street, CORP)
    await publish(notify, last)
    await eventually(lambda: handled(notify, 9), what="live notify handled the last")
    assert await replay.compare(notify.database_url, "replay_now") == ([], 2)

    code, output = await wijkbus(
        "replay", "notify", "--into", "replay_then", "--until", moment.isoformat(), env=env
    )
    assert code == 0, output
    assert "10 records read, 6 handled, 1 duplicates skipped, 3 after --until left out" in said(
        output
    )
    assert await queued(notify, "replay_then") == then

    # Someone deletes one live delivery and queues another by hand.
    source = "urn:nld:wijkbus:routing"
    await notify.fetch(
        "WITH gone AS (DELETE FROM notify.deliveries WHERE subscription_id = $1"
        " AND event_id = $2 RETURNING id)"
        " DELETE FROM notify.delivery_attempts WHERE delivery_id IN (SELECT id FROM gone)",
        UUID(by_street),
        first[1].id,
    )
    await notify.fetch(
        "INSERT INTO notify.deliveries (subscription_id, event_source, event_id, event_type,"
        " body, status, next_attempt_at, created_at)"
        " VALUES ($1, $2, $3, $4, $5, 'delivered', now(), now())",
        UUID(by_street),
        source,
        first[3].id,
        ROUTING_ASSIGNED_TYPE,
        to_json_bytes(first[3]),
    )
    code, output = await wijkbus("replay", "notify", "--into", "replay_check", env=env)
    assert code == 1, output
    digest = hashlib.sha256(street_url.encode()).hexdigest()[:16]  # no address in a report
    fields = f"('webhook', '{ROUTING_ASSIGNED_TYPE}', '{digest}')"
    assert street_url not in output
    assert "2 differences between notify and replay_check" in said(output)
    assert f"deliveries {by_street} {source}|{first[1].id}: live None, replay {fields}" in said(
        output
    )
    assert f"deliveries {by_street} {source}|{first[3].id}: live {fields}, replay None" in said(
        output
    )

    code, output = await wijkbus("replay", "notify", "--into", "replay_now", env=env)
    assert code == 2
    assert "schema replay_now is not empty" in said(output)


def replay_env(notify: Notify, tmp_path: Path) -> dict[str, str]:
    """What `wijkbus replay notify` needs to find this test's notify."""
    return {
        "DATABASE_URL": notify.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": notify.bootstrap,
        "WIJKBUS_PARTNERS": str(write_partner_registry(tmp_path / "partners.yaml", notify.creds)),
    }


@asynccontextmanager
async def writes_held_back(notify: Notify) -> AsyncIterator[None]:
    """Hold back every write to notify.subscriptions (reads go on) until the block ends."""
    conn = await asyncpg.connect(notify.database_url)
    try:
        async with conn.transaction():
            await conn.execute("LOCK TABLE notify.subscriptions IN SHARE MODE")
            yield
    finally:
        await conn.close()


async def waits_to(notify: Notify, statement: str) -> bool:
    """Whether a transaction waits for a lock at a statement that begins with `statement`."""
    rows = await notify.fetch(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        " AND query LIKE $1",
        statement + "%",
    )
    return bool(rows[0]["n"])


async def fanned_out_or_waiting(notify: Notify, count: int) -> bool:
    """Whether live's fan-out waits for a subscription change, or handled `count` events."""
    rows = await notify.fetch(
        "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND mode = 'ShareLock'"
        " AND NOT granted"
    )
    return bool(rows[0]["n"]) or await handled(notify, count)


async def no_differences(notify: Notify, tmp_path: Path) -> None:
    """`wijkbus replay notify` finds the live queue equal to the one it rebuilds."""
    into = f"replay_{unique('race').replace('-', '_')}"
    code, output = await wijkbus(
        "replay", "notify", "--into", into, env=replay_env(notify, tmp_path)
    )
    assert code == 0, output
    assert f"no differences: the live projection equals the replay in {into}" in said(output)


async def test_an_event_fanned_out_while_a_subscription_is_created_is_replayed_as_live_queued_it(
    notify: Notify, receiver: Receiver, tmp_path: Path
) -> None:
    street = unique("naam:groningen:straat")
    _, url = receiver.hook()
    event = assignment(street, POLICE)
    async with writes_held_back(notify):
        # The creation passed its test delivery and stores the subscription, but cannot yet:
        # live fans out an event it wants meanwhile.
        creating = asyncio.create_task(
            subscribe(notify, url, [ROUTING_ASSIGNED_TYPE], street_key=street)
        )
        await eventually(lambda: waits_to(notify, "INSERT INTO subscriptions"), what="creating")
        await publish(notify, event)
        await eventually(lambda: fanned_out_or_waiting(notify, 1), what="live's fan-out")
    created = await creating
    await eventually(lambda: handled(notify, 1), what="live notify handled the event")
    await no_differences(notify, tmp_path)
    # The fan-out waited for the creation, so the new subscription heard the event.
    assert await queued(notify, "notify") == {(created, event.id)}


async def test_an_event_fanned_out_while_a_subscription_is_deleted_is_replayed_as_live_queued_it(
    notify: Notify, receiver: Receiver, tmp_path: Path
) -> None:
    street = unique("naam:groningen:straat")
    _, url = receiver.hook()
    gone = await subscribe(notify, url, [ROUTING_ASSIGNED_TYPE], street_key=street)
    event = assignment(street, POLICE)
    async with writes_held_back(notify):
        deleting = asyncio.create_task(
            notify.http.delete(f"/api/v1/subscriptions/{gone}", headers=notify.auth())
        )
        await eventually(lambda: waits_to(notify, "UPDATE subscriptions"), what="deleting")
        await publish(notify, event)
        await eventually(lambda: fanned_out_or_waiting(notify, 1), what="live's fan-out")
    assert (await deleting).status_code == 204
    await eventually(lambda: handled(notify, 1), what="live notify handled the event")
    await no_differences(notify, tmp_path)
    # The fan-out waited for the deletion, so the subscription no longer heard the event.
    assert await queued(notify, "notify") == set()
