"""Notify's live feed (server-sent events) against the real broker and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from contracts.events import ROUTING_ASSIGNED_TYPE
from services.notify.app import NotifySettings, build
from tests.integration.test_notify_flow import (
    CORP,
    POLICE,
    Notify,
    assignment,
    publish,
    settings_for,
)
from tests.support import demo_registry, groups_at_end, running_app, unique
from tools.devstack import DemoCredentials

HEARTBEAT_S = 0.3  # the keep-alive comment's interval in these tests (15 s by default)


class Feed:
    """An open feed: reads and parses its server-sent events."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()
        self.last_id: str | None = None  # the SSE id of the last event read

    async def connected(self) -> None:
        """Wait for the greeting the server sends once the stream is registered for events."""
        async with asyncio.timeout(30):
            async for line in self._lines:
                if line == ": verbonden":
                    return
        raise AssertionError("the feed ended before it was connected")

    async def next_event(self) -> dict[str, Any] | None:
        """The next event, None once the server ended the stream (comments are skipped)."""
        fields: dict[str, str] = {}
        async for line in self._lines:
            if not line:
                if "data" in fields:
                    item: dict[str, Any] = json.loads(fields["data"])
                    assert fields["id"].isdigit()  # its place in the feed, to resume from
                    self.last_id = fields["id"]
                    return item
                continue
            if not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
        return None

    async def pings(self, count: int, timeout: float = 30.0) -> None:
        """Wait for `count` keep-alive comments; fail if an event or the end comes first."""
        seen = 0
        async with asyncio.timeout(timeout):
            async for line in self._lines:
                assert not line.startswith(("data:", "id:")), f"an event among the pings: {line}"
                seen += line == ": ping"
                if seen == count:
                    return
        raise AssertionError(f"the feed ended after {seen} keep-alive comments")

    async def rest(self) -> list[dict[str, Any]]:
        """The events still to come, once the server has ended the stream."""
        remaining: list[dict[str, Any]] = []
        while (item := await self.next_event()) is not None:
            remaining.append(item)
        return remaining

    async def until(self, event_id: str, timeout: float = 60.0) -> list[dict[str, Any]]:
        """Every event up to and including `event_id`."""
        seen: list[dict[str, Any]] = []
        async with asyncio.timeout(timeout):
            while not seen or seen[-1]["id"] != event_id:
                item = await self.next_event()
                assert item is not None, f"the feed ended after {[e['id'] for e in seen]}"
                seen.append(item)
        return seen


@asynccontextmanager
async def open_feed(
    notify: Notify, partner: str | None = None, last_event_id: str | None = None
) -> AsyncIterator[Feed]:
    """Open the caller's feed (resuming after `last_event_id`); yields once the server listens
    for it; closes it on the way out."""
    headers = notify.auth(partner)
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    async with notify.http.stream("GET", "/api/v1/feed", headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        feed = Feed(response)
        await feed.connected()
        yield feed


async def feed_settings(
    database_url: str, bootstrap: str, creds: DemoCredentials
) -> NotifySettings:
    """Consumer groups at the topics' end (this test sees what it sends); a quick keep-alive."""
    settings = settings_for(database_url, bootstrap, creds)
    prefix = await groups_at_end(bootstrap, "notify", {"events": list(settings.event_topics)})
    return settings.model_copy(update={"group_prefix": prefix, "feed_heartbeat_s": HEARTBEAT_S})


@pytest.fixture
async def notify(fresh_database: str, kafka_bootstrap: str) -> AsyncIterator[Notify]:
    registry, creds = demo_registry()
    settings = await feed_settings(fresh_database, kafka_bootstrap, creds)
    # The client goes first: closing it closes any stream a test left open, so notify can stop.
    async with (
        running_app(build(settings, partners=registry)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        yield Notify(http, creds, fresh_database, kafka_bootstrap, registry)


async def test_the_feed_shows_an_operator_everything_and_a_partner_only_its_own(
    notify: Notify,
) -> None:
    street = unique("straat")
    for_corp, for_police, for_corp_again = (
        assignment(street, CORP),
        assignment(street, POLICE),
        assignment(street, CORP),
    )
    async with (
        open_feed(notify) as operator,
        open_feed(notify, POLICE) as police,
        open_feed(notify, CORP) as corp,
    ):
        await publish(notify, for_corp, for_police, for_corp_again, key=street)
        everything = await operator.until(for_corp_again.id)
        # In order, because the feed is announced at commit and one key is one partition.
        assert [e["id"] for e in everything] == [for_corp.id, for_police.id, for_corp_again.id]
        first = everything[0]
        assert first["type"] == ROUTING_ASSIGNED_TYPE
        assert first["source"] == for_corp.source
        assert first["subject"] == for_corp.subject
        assert first["partners"] == [CORP]
        assert first["data"]["signal_id"] == for_corp.subject
        assert first["data"]["street_key"] == street
        # A partner's feed skips what is not its own: the other partner's events came in between.
        police_saw = await police.until(for_police.id)
        assert [e["id"] for e in police_saw] == [for_police.id]
        corp_saw = await corp.until(for_corp_again.id)
        assert [e["id"] for e in corp_saw] == [for_corp.id, for_corp_again.id]
        assert all(e["partners"] == [CORP] for e in corp_saw)


async def test_the_feed_needs_an_operator_or_a_partner_key(notify: Notify) -> None:
    anonymous = await notify.http.get("/api/v1/feed")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    unknown = await notify.http.get("/api/v1/feed", headers={"Authorization": "Bearer wb_nope"})
    assert unknown.status_code == 401


async def test_a_feed_reconnecting_with_last_event_id_resumes_without_missing_an_event(
    notify: Notify,
) -> None:
    street = unique("straat")
    seen, missed, also_missed, later = (
        assignment(street, POLICE),
        assignment(street, POLICE),
        assignment(street, CORP),
        assignment(street, POLICE),
    )
    async with open_feed(notify) as watcher:
        async with open_feed(notify, POLICE) as police:
            await publish(notify, seen, key=street)
            assert [e["id"] for e in await police.until(seen.id)] == [seen.id]
            resume_from = police.last_id
        assert resume_from is not None
        # While the partner is away: one of its own, and the other partner's in between.
        await publish(notify, missed, also_missed, key=street)
        watched = await watcher.until(also_missed.id)  # consumed and committed
        async with open_feed(notify, POLICE, last_event_id=resume_from) as police:
            await publish(notify, later, key=street)
            resumed = await police.until(later.id)
    assert [e["id"] for e in resumed] == [missed.id, later.id]
    # From the log as it was live: the same item.
    assert resumed[0] == next(e for e in watched if e["id"] == missed.id)


async def test_an_operator_resuming_gets_everything_after_its_last_event_in_order(
    notify: Notify,
) -> None:
    street = unique("straat")
    events = [assignment(street, p) for p in (CORP, POLICE, CORP, POLICE)]
    async with open_feed(notify) as watcher:
        await publish(notify, events[0], key=street)
        await watcher.until(events[0].id)
        resume_from = watcher.last_id
        await publish(notify, *events[1:], key=street)
        await watcher.until(events[-1].id)
    assert resume_from is not None
    async with open_feed(notify, last_event_id=resume_from) as again:
        assert [e["id"] for e in await again.until(events[-1].id)] == [e.id for e in events[1:]]


async def test_a_quiet_feed_stays_open_with_keep_alive_comments(notify: Notify) -> None:
    street = unique("straat")
    event = assignment(street, POLICE)
    async with open_feed(notify, POLICE) as police:
        await police.pings(5)  # five intervals without an event, and the stream is still there
        await publish(notify, event, key=street)
        assert [e["id"] for e in await police.until(event.id)] == [event.id]
        await police.pings(2)
