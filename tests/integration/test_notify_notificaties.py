"""The Notificaties API face: a zaaksysteem's abonnement on kanaal toewijzingen, filtered on a
buurt, gets a `notificatie` of the standard's shape for an assignment there and none for
another buurt; abonnementen are managed with the same authorisation as subscriptions."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import jsonschema
import pytest
from fastapi import FastAPI, Request, Response

from services.notify.app import build
from tests.integration.test_notify_flow import (
    CORP,
    POLICE,
    Notify,
    assignment,
    publish,
    settings_for,
)
from tests.support import demo_registry, eventually, running_app, unique
from tests.unit.test_notify_notificaties import schema

API = "/notificaties/api/v1"
AUTH = "Bearer zaaksysteem-7c1e"
HERE, THERE = "BU00140107", "BU00149999"


@dataclass
class Zaaksysteem:
    """A Common Ground system's notificaties endpoint: records what it gets, answers 204."""

    url: str = ""
    got: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)

    def notes(self, kanaal: str = "toewijzingen") -> list[dict[str, Any]]:
        return [n for _, n in self.got if n["kanaal"] == kanaal]

    async def arrived(self, count: int) -> list[dict[str, Any]]:
        async def enough() -> list[dict[str, Any]] | None:
            return self.notes() if len(self.notes()) >= count else None

        return await eventually(enough, what=f"{count} notificaties")  # type: ignore[no-any-return]


@pytest.fixture
async def zaaksysteem() -> AsyncIterator[Zaaksysteem]:
    got = Zaaksysteem()
    app = FastAPI()

    @app.post("/notificaties")
    async def receive(request: Request) -> Response:
        got.got.append((dict(request.headers), json.loads(await request.body())))
        return Response(status_code=204)

    async with running_app(app) as url:
        got.url = f"{url}/notificaties"
        yield got


@pytest.fixture
async def notify(fresh_database: str, kafka_bootstrap: str) -> AsyncIterator[Notify]:
    registry, creds = demo_registry()
    settings = settings_for(fresh_database, kafka_bootstrap, creds).model_copy(
        update={"intake_url": "https://intake.gemeente.example", "routing_url": None}
    )
    async with (
        running_app(build(settings, partners=registry)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        yield Notify(http, creds, fresh_database, kafka_bootstrap, registry)


def in_buurt(buurt: str, partner: str = POLICE) -> Any:
    event = assignment(unique("naam:groningen:straat"), partner)
    return event.model_copy(update={"data": {**event.data, "buurt_code": buurt}})


async def abonneer(
    notify: Notify, url: str, kanalen: list[Any], partner: str | None = None
) -> httpx.Response:
    body = {"callbackUrl": url, "auth": AUTH, "kanalen": kanalen}
    return await notify.http.post(f"{API}/abonnement", json=body, headers=notify.auth(partner))


async def test_an_abonnement_on_a_buurt_gets_a_notificatie_for_that_buurt_only(
    notify: Notify, zaaksysteem: Zaaksysteem
) -> None:
    kanalen = [{"naam": "toewijzingen", "filters": {"buurt_code": HERE}}]
    created = await abonneer(notify, zaaksysteem.url, kanalen)
    assert created.status_code == 201, created.text
    shown = created.json()
    jsonschema.validate(shown, schema("Abonnement"))
    assert created.headers["location"] == shown["url"] and "auth" not in shown
    [(headers, test)] = zaaksysteem.got  # the callback was checked first
    assert test["kanaal"] == "test" and headers["authorization"] == AUTH

    there, here = in_buurt(THERE), in_buurt(HERE)
    await publish(notify, there, here)
    [note] = await zaaksysteem.arrived(1)
    await asyncio.sleep(1.0)  # the other buurt's would have come first (same key, in order)
    assert zaaksysteem.notes() == [note]
    jsonschema.validate(note, schema("Notificatie"))
    signal = here.data["signal_id"]
    assert note == {
        "kanaal": "toewijzingen",
        "hoofdObject": f"https://intake.gemeente.example/api/v1/signals/{signal}",
        "resource": "toewijzing",
        "resourceUrl": f"https://intake.gemeente.example/api/v1/signals/{signal}",
        "actie": "create",
        "aanmaakdatum": note["aanmaakdatum"],
        "kenmerken": {"categorie": "overlast", "buurt_code": HERE, "partner": POLICE},
    }
    assert datetime.fromisoformat(note["aanmaakdatum"]) == here.time
    headers = next(h for h, n in zaaksysteem.got if n == note)
    assert headers["content-type"] == "application/json"
    assert headers["authorization"] == AUTH

    # Changed to the other buurt (PATCH), the next one there arrives; deleted, nothing does.
    patched = await notify.http.patch(
        shown["url"].replace(str(notify.http.base_url).rstrip("/"), ""),
        json={"kanalen": [{"naam": "toewijzingen", "filters": {"buurt_code": THERE}}]},
        headers=notify.auth(),
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["kanalen"][0]["filters"] == {"buurt_code": THERE}
    later = in_buurt(THERE)
    await publish(notify, later)
    await zaaksysteem.arrived(2)
    path = f"{API}/abonnement/{shown['url'].rsplit('/', 1)[-1]}"
    assert (await notify.http.delete(path, headers=notify.auth())).status_code == 204
    assert (await notify.http.get(path, headers=notify.auth())).status_code == 404


async def test_abonnementen_are_managed_with_the_subscriptions_authorisation(
    notify: Notify, zaaksysteem: Zaaksysteem
) -> None:
    assert (await notify.http.get(f"{API}/abonnement")).status_code == 401
    assert (await notify.http.get(f"{API}/kanaal")).status_code == 401
    mine = await abonneer(notify, zaaksysteem.url, [{"naam": "toewijzingen"}], POLICE)
    assert mine.status_code == 201, mine.text
    path = f"{API}/abonnement/{mine.json()['url'].rsplit('/', 1)[-1]}"
    # Another partner neither sees nor changes it; its owner and the operator do.
    assert (await notify.http.get(path, headers=notify.auth(CORP))).status_code == 404
    gone = await notify.http.delete(path, headers=notify.auth(CORP))
    assert gone.status_code == 404
    assert (await notify.http.get(path, headers=notify.auth(POLICE))).status_code == 200
    listed = await notify.http.get(f"{API}/abonnement", headers=notify.auth(CORP))
    assert listed.json() == []
    assert len((await notify.http.get(f"{API}/abonnement", headers=notify.auth())).json()) == 1

    # A partner's abonnement hears only of itself: the other partner's assignment never comes.
    await publish(notify, in_buurt(HERE, CORP), in_buurt(HERE, POLICE))
    [note] = await zaaksysteem.arrived(1)
    await asyncio.sleep(1.0)
    assert zaaksysteem.notes() == [note] and note["kenmerken"]["partner"] == POLICE

    refused = await abonneer(notify, zaaksysteem.url, [{"naam": "straten"}], POLICE)
    assert refused.status_code == 400
    problem = refused.json()
    jsonschema.validate(problem, schema("ValidatieFout"))
    assert problem["invalid-params"][0]["name"] == "kanalen.0.naam"
    unknown = await abonneer(notify, zaaksysteem.url, [{"naam": "zaken"}])
    assert unknown.json()["invalid-params"][0]["reason"] == "Kanaal met deze naam bestaat niet."
    invalid = await notify.http.post(
        f"{API}/abonnement", json={"kanalen": []}, headers=notify.auth()
    )
    assert invalid.status_code == 400
    jsonschema.validate(invalid.json(), schema("ValidatieFout"))


async def test_the_kanalen_are_listed_with_their_kenmerken(notify: Notify) -> None:
    found = (await notify.http.get(f"{API}/kanaal", headers=notify.auth(POLICE))).json()
    assert [k["naam"] for k in found] == [
        "signalen",
        "toewijzingen",
        "straten",
        "wijkhubs",
        "buurtbudget",
    ]
    for kanaal in found:
        jsonschema.validate(kanaal, schema("Kanaal"))
    one = await notify.http.get(
        f"{API}/kanaal", params={"naam": "toewijzingen"}, headers=notify.auth()
    )
    [toewijzingen] = one.json()
    assert toewijzingen["filters"] == ["categorie", "buurt_code", "partner"]
    docs = toewijzingen["documentatieLink"].split(str(notify.http.base_url).rstrip("/"))[-1]
    assert (await notify.http.get(docs)).status_code == 200
    path = toewijzingen["url"].split(str(notify.http.base_url).rstrip("/"))[-1]
    read = await notify.http.get(path, headers=notify.auth())
    assert read.json() == toewijzingen
