"""Notify's dashboard tells the truth past its first page: every total is the database's count
over all deliveries and attempts, and the lists page and filter through all of them."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from tests.integration import test_notify_flow as flow
from tests.integration.test_notify_flow import POLICE, Notify, Receiver

notify, receiver = flow.notify, flow.receiver  # the same running notify and receiver fixtures

START = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
CARD = re.compile(r'data-total="([^"]+)"><strong[^>]*>(\d+)</strong>')
SUB_ROW = re.compile(
    r'<tr data-subscription="([^"]+)">.*?'
    r'class="num">(\d+)</td><td class="num">(\d+)</td>\s*'
    r'<td class="num">(?:<span class="bad">)?(\d+)(?:</span>)?</td>\s*'
    r'<td class="num">(?:<span class="bad">)?(\d+)(?:</span>)?</td>',
    re.S,
)
ATTEMPT = re.compile(r'<tr data-attempt="(\d+)">')
DEAD = re.compile(r'<tr data-dead="(\d+)">')
FOUND = re.compile(r'<p id="gevonden-pogingen">(\d+) pogingen')
DEAD_TOTAL = re.compile(r"Niet af te leveren \(dead letters\) <span class=\"muted\">\((\d+)\)")


async def load(notify: Notify, subscriptions: list[str]) -> None:
    """Deliveries in every state and their attempts straight into the store: 130 attempts and
    60 dead deliveries, more than a page of either holds; none due, so the worker leaves them."""
    conn = await asyncpg.connect(notify.database_url, server_settings={"search_path": "notify"})
    later = START + timedelta(days=365)
    try:
        for i in range(150):
            sub = subscriptions[i % len(subscriptions)]
            status = ("delivered", "dead", "pending", "dead")[i % 4]
            tried = 0 if status == "pending" and i % 8 == 2 else 1 + i % 3
            delivery = await conn.fetchval(
                "INSERT INTO deliveries (subscription_id, event_source, event_id, event_type, body,"
                " status, attempts, next_attempt_at, last_error, created_at, finished_at)"
                " VALUES ($1, 'urn:test', $2, 'nl.wijkaanpak.routing.assigned', '\\x7b7d', $3, $4,"
                " $5, $6, $7, $8) RETURNING id",
                uuid.UUID(sub),
                f"evt-{i}",
                status,
                tried,
                later,
                "the receiver answered 500 (after 3 attempts)" if status == "dead" else None,
                START - timedelta(minutes=2 * i),
                START - timedelta(minutes=i) if status != "pending" else None,
            )
            for n in range(tried if i < 65 else 0):  # 130 attempts in all
                ok = status == "delivered" and n == tried - 1
                await conn.execute(
                    "INSERT INTO delivery_attempts (delivery_id, subscription_id, attempt,"
                    " status_code, latency_ms, error, at) VALUES ($1, $2, $3, $4, 12, $5, $6)",
                    delivery,
                    uuid.UUID(sub),
                    n + 1,
                    204 if ok else 500,
                    None if ok else "HTTP 500",
                    START - timedelta(minutes=i, seconds=n),
                )
    finally:
        await conn.close()


async def shown(notify: Notify, **query: str) -> str:
    page = await notify.http.get("/dashboard", params=query, headers=notify.auth())
    assert page.status_code == 200, page.text
    return page.text


async def test_every_total_is_the_databases_count_over_all_deliveries(
    notify: Notify, receiver: Receiver
) -> None:
    subs = []
    for partner in (POLICE, None):
        _, url = receiver.hook()
        created = await notify.subscribe(url, partner=partner, filters={"street_key": "x"})
        assert created.status_code == 201, created.text
        subs.append(created.json()["id"])
    await load(notify, subs)

    page = await shown(notify)
    truth = await notify.fetch(
        "SELECT s.id::text AS id,"
        " count(d.id) FILTER (WHERE d.status = 'delivered') AS delivered,"
        " count(d.id) FILTER (WHERE d.status = 'pending' AND d.attempts = 0) AS pending,"
        " count(d.id) FILTER (WHERE d.status = 'pending' AND d.attempts > 0) AS failing,"
        " count(d.id) FILTER (WHERE d.status = 'dead') AS dead"
        " FROM notify.subscriptions s LEFT JOIN notify.deliveries d ON d.subscription_id = s.id"
        " GROUP BY s.id"
    )
    rows = {sid: tuple(map(int, counts)) for sid, *counts in SUB_ROW.findall(page)}
    assert rows == {r["id"]: (r["delivered"], r["pending"], r["failing"], r["dead"]) for r in truth}
    states = await notify.fetch("SELECT status, count(*) AS n FROM notify.deliveries GROUP BY 1")
    by_state = {r["status"]: r["n"] for r in states}
    assert dict(CARD.findall(page)) == {
        "actief": "2",
        "wachtend": str(by_state["pending"]),
        "afgeleverd": str(by_state["delivered"]),
        "dood": str(by_state["dead"]),
    }
    assert by_state["dead"] == 75  # more than a page

    # The chart's table alternative says the same numbers as the database.
    assert page.count('<figure class="chart chart-stacked">') == 1
    for r in truth:
        cells = "".join(
            f'<td class="num">{n}</td>'
            for n in (r["delivered"], r["pending"], r["failing"], r["dead"])
        )
        assert f"{r['id'][:8]} · " in page and cells in page

    attempts = await notify.fetch(
        "SELECT id FROM notify.delivery_attempts ORDER BY at DESC, id DESC"
    )
    ids = [str(r["id"]) for r in attempts]
    assert len(ids) > 100
    assert FOUND.findall(page) == [str(len(ids))]
    assert ATTEMPT.findall(page) == ids[:25]
    assert ATTEMPT.findall(await shown(notify, pagina="3")) == ids[50:75]
    last = (len(ids) - 1) // 25 * 25
    assert ATTEMPT.findall(await shown(notify, pagina="99")) == ids[last:]  # the last page

    failed = await notify.fetch(
        "SELECT count(*) AS n FROM notify.delivery_attempts WHERE subscription_id = $1"
        " AND coalesce(status_code BETWEEN 200 AND 299, false) = false",
        uuid.UUID(subs[0]),
    )
    filtered = await shown(notify, abonnement=subs[0], uitkomst="mislukt")
    assert FOUND.findall(filtered) == [str(failed[0]["n"])]
    assert ">HTTP 500<" not in filtered and ">de ontvanger antwoordde HTTP 500<" in filtered

    dead = await notify.fetch(
        "SELECT id FROM notify.deliveries WHERE status = 'dead'"
        " ORDER BY finished_at DESC NULLS LAST, id DESC"
    )
    dead_ids = [str(r["id"]) for r in dead]
    assert DEAD_TOTAL.findall(page) == [str(len(dead_ids))]
    assert DEAD.findall(page) == dead_ids[:20]
    assert DEAD.findall(await shown(notify, dood="4")) == dead_ids[60:]
    assert "de ontvanger antwoordde 500 (na 3 pogingen)" in page
    assert "20 nov 2026 22:00 CET" in page  # START, 21:00 UTC, in Amsterdam with its zone

    for wrong in ({"uitkomst": "half"}, {"abonnement": "geen-uuid"}, {"pagina": "nul"}):
        refused = await notify.http.get("/dashboard", params=wrong, headers=notify.auth())
        assert refused.status_code == 400, wrong


async def test_the_live_stream_says_bijgewerkt_when_a_delivery_changes(
    notify: Notify, receiver: Receiver
) -> None:
    _, url = receiver.hook()
    created = await notify.subscribe(url, filters={"street_key": "x"})
    async with (
        httpx.AsyncClient(base_url=str(notify.http.base_url), timeout=30) as client,
        client.stream("GET", "/dashboard/live", headers=notify.auth()) as stream,
    ):
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        assert await anext(lines) == "retry: 5000"
        assert await anext(lines) == "event: ready"
        await load(notify, [created.json()["id"]])
        seen = [await anext(lines) for _ in range(3)]
        assert "event: bijgewerkt" in seen
