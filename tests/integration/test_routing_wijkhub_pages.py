"""The wijkhub on routing's dashboard: a crossed street's advice, opening, declining, extending
and closing a hub by the forms (login cookie + form token), the hub page with its evaluation,
and the contact person only in the page's vertrouwelijk section."""

from __future__ import annotations

import html
import logging
import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import structlog

from tests.integration import test_routing_streets as streets
from tests.integration.test_routing_flow import START, Router
from tests.integration.test_routing_streets import deliver

router = streets.router  # routing with the wijkhub threshold (3 overlast/vernieling in 30 days)
DAY = timedelta(days=1)
TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
HUB_PATH = re.compile(r"^/dashboard/wijkhubs/(hub-[0-9a-f]{32})$")


@pytest.fixture
async def browser(router: Router) -> AsyncIterator[httpx.AsyncClient]:
    """An operator's browser: logged in with the login cookie only, no bearer token."""
    async with httpx.AsyncClient(base_url=str(router.http.base_url), timeout=30) as client:
        token = router.operator["Authorization"].removeprefix("Bearer ")
        login = await client.post("/login", data={"token": token})
        assert login.status_code == 303
        yield client


async def crossed(router: Router) -> None:
    """Three overlast and a vernieling this fortnight: the street crosses its wijkhub threshold."""
    observed = [("overlast", 1 * DAY), ("overlast", 3 * DAY), ("vernieling", 9 * DAY)]
    await deliver(router, *observed, ("overlast", 12 * DAY), at=START)


async def form_token(browser: httpx.AsyncClient) -> str:
    page = await browser.get("/dashboard")
    assert page.status_code == 200
    found = TOKEN.search(page.text)
    assert found is not None, "the dashboard's wijkhub forms carry a form token"
    return found.group(1)


def open_form(router: Router, token: str, contact: str = "Jan de Vries") -> dict[str, object]:
    return {
        "csrf_token": token,
        "street_key": router.street_key,
        "address": f"{router.street} 12, buurthuis",
        "starts_on": "2026-11-21",
        "ends_on": "2027-01-01",
        "partners": ["politie-groningen", "wij-groningen"],
        "name": contact,
        "role": "wijkagent",
        "phone": "06 12345678",
        "email": "wijkagent@example.nl",
        "aims": "Samen met bewoners de overlast terugdringen.",
    }


async def opened(router: Router, browser: httpx.AsyncClient, contact: str = "Jan") -> str:
    answer = await browser.post(
        "/dashboard/wijkhubs", data=open_form(router, await form_token(browser), contact)
    )
    assert answer.status_code == 303, answer.text
    found = HUB_PATH.match(answer.headers["location"])
    assert found is not None, answer.headers["location"]
    return found.group(1)


def section(page: str, start: str, end: str) -> str:
    """The part of `page` from the first `start` to the next `end`."""
    begin = page.index(start)
    return page[begin : page.index(end, begin)]


async def test_the_dashboard_advises_a_wijkhub_with_the_incidents_behind_it(
    router: Router, browser: httpx.AsyncClient
) -> None:
    await crossed(router)
    page = (await browser.get("/dashboard")).text
    advice = section(page, 'id="wijkhub-advies"', 'id="wijkhubs"')
    article = section(advice, f'data-street-key="{router.street_key}"', "</article>")
    assert f"{router.street}, Groningen" in article
    assert "BU00140107" in article
    assert "Drempel <strong>wijkhub</strong> (30 dagen)" in article
    assert "wijkhub in deze straat helpt" in article  # the threshold's own advice
    categories = section(article, 'class="per-categorie"', "</table>")
    assert re.findall(r"<td>(\w+)</td><td class=\"num\">(\d+)</td>", categories) == [
        ("overlast", "3"),
        ("vernieling", "1"),
    ]  # the 30 days up to the crossing
    assert "woonstichting-noord" in section(article, 'class="per-partner"', "</table>")
    assert 'value="2026-11-20"' in article and 'value="2027-01-01"' in article  # today, +6 weeks
    assert article.count('name="partners"') == 4  # every registered partner to choose from
    assert 'http-equiv="refresh"' not in page  # a half-filled form is never wiped


async def test_opening_a_wijkhub_by_the_form_creates_it_and_shows_its_page(
    router: Router, browser: httpx.AsyncClient
) -> None:
    await crossed(router)
    hub_id = await opened(router, browser)
    [row] = await router.fetch("SELECT * FROM wijkhubs WHERE hub_id = $1", hub_id)
    assert list(row["street_keys"]) == [router.street_key]
    assert list(row["partners"]) == ["politie-groningen", "wij-groningen"]
    assert row["opened_by"] == "operator"

    page = await browser.get(f"/dashboard/wijkhubs/{hub_id}")
    assert page.status_code == 200
    assert f"Wijkhub {router.street} 12, buurthuis, Groningen" in page.text
    assert "21 november 2026 t/m 1 januari 2027" in page.text
    assert "(Europe/Amsterdam)" in page.text
    assert "gepland" in section(page.text, 'id="status"', "</dd>")
    evaluation = section(page.text, '<section class="wijkhub-report"', "</section>")
    assert "<svg" in evaluation and "data-figure=" in evaluation
    assert 'data-kind="opened"' in page.text
    dashboard = (await browser.get("/dashboard")).text
    assert router.street_key not in section(dashboard, 'id="wijkhub-advies"', 'id="wijkhubs"')
    listed = section(dashboard, 'id="wijkhub-lijst"', "</table>")
    assert f'href="/dashboard/wijkhubs/{hub_id}"' in listed


async def test_a_form_post_without_its_token_is_refused(
    router: Router, browser: httpx.AsyncClient
) -> None:
    await crossed(router)
    token = await form_token(browser)
    for forged in ({**open_form(router, token), "csrf_token": ""}, {**open_form(router, "0" * 64)}):
        answer = await browser.post("/dashboard/wijkhubs", data=forged)
        assert answer.status_code == 403
    declined = await browser.post(
        f"/dashboard/wijkhubs/advice/{router.street_key}/decline", data={"reason": "nee"}
    )
    assert declined.status_code == 403
    assert await router.fetch("SELECT * FROM wijkhubs") == []
    assert await router.fetch("SELECT * FROM wijkhub_decisions") == []
    anonymous = await router.http.post("/dashboard/wijkhubs", data=open_form(router, token))
    assert anonymous.status_code == 303 and "/login" in anonymous.headers["location"]


async def test_refusals_are_shown_on_the_page_in_dutch(
    router: Router, browser: httpx.AsyncClient
) -> None:
    await crossed(router)
    token = await form_token(browser)
    past = await browser.post(
        "/dashboard/wijkhubs", data={**open_form(router, token), "starts_on": "2026-11-01"}
    )
    assert past.status_code == 400
    assert "Een wijkhub begint niet in het verleden" in past.text
    assert 'value="2026-11-01"' in past.text  # what the operator typed is kept
    empty = await browser.post(
        "/dashboard/wijkhubs", data={**open_form(router, token), "address": "", "partners": []}
    )
    assert empty.status_code == 400
    assert "Adres is verplicht." in empty.text and "Partners kies er minstens één." in empty.text

    hub_id = await opened(router, browser)
    again = await browser.post("/dashboard/wijkhubs", data=open_form(router, token))
    assert again.status_code == 409
    assert f"Deze straat heeft in die periode al een wijkhub ({hub_id})." in again.text
    earlier = await browser.post(
        f"/dashboard/wijkhubs/{hub_id}/extend", data={"csrf_token": token, "ends_on": "2026-12-01"}
    )
    assert earlier.status_code == 409
    assert "De nieuwe einddatum moet na de huidige einddatum liggen." in earlier.text
    unknown = await browser.get(f"/dashboard/wijkhubs/hub-{uuid.uuid4().hex}")
    assert unknown.status_code == 404 and "Deze wijkhub bestaat niet" in unknown.text
    closing = f"/dashboard/wijkhubs/hub-{uuid.uuid4().hex}/close"
    gone = await browser.post(closing, data={"csrf_token": token, "outcome_note": "klaar"})
    assert gone.status_code == 404


async def test_a_hub_is_extended_and_closed_and_advice_declined_by_the_forms(
    router: Router, browser: httpx.AsyncClient
) -> None:
    await crossed(router)
    token = await form_token(browser)
    hub_id = await opened(router, browser)
    base = f"/dashboard/wijkhubs/{hub_id}"
    extended = await browser.post(
        f"{base}/extend", data={"csrf_token": token, "ends_on": "2027-01-15"}
    )
    assert extended.status_code == 303 and extended.headers["location"] == base
    router.clock.now = START + 10 * DAY
    note = {"csrf_token": token, "outcome_note": "Minder overlast, buurtavond gehouden."}
    closed = await browser.post(f"{base}/close", data=note)
    assert closed.status_code == 303
    page = (await browser.get(base)).text
    assert re.findall(r'data-kind="(\w+)"', page) == ["opened", "extended", "closed"]
    assert "gesloten" in section(page, 'id="status"', "</dd>")
    assert "Minder overlast, buurtavond gehouden." in page
    assert 'action="' + base + '/close"' not in page  # no forms on a closed hub
    twice = await browser.post(f"{base}/close", data=note)
    assert twice.status_code == 409 and "De wijkhub is al gesloten." in twice.text

    other = Router(router.http, router.operator, router.database_url, router.bootstrap,
                   router.clock, router.street + "-b")  # fmt: skip
    await deliver(other, ("overlast", DAY), ("overlast", 2 * DAY), ("overlast", 3 * DAY),
                  at=router.clock.now)  # fmt: skip
    path = f"/dashboard/wijkhubs/advice/{other.street_key}/decline"
    declined = await browser.post(path, data={"csrf_token": token, "reason": "Al in gesprek."})
    assert declined.status_code == 303
    [decision] = await router.fetch("SELECT * FROM wijkhub_decisions WHERE kind = 'declined'")
    assert decision["street_key"] == other.street_key and decision["reason"] == "Al in gesprek."
    dashboard = (await browser.get("/dashboard")).text
    assert "Geen advies dat op een besluit wacht." in dashboard


async def test_the_contact_person_is_only_in_the_hub_page_s_vertrouwelijk_section(
    router: Router,
    browser: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    canary = f"CANARY-{uuid.uuid4()}"
    await crossed(router)
    with structlog.testing.capture_logs() as logged:
        hub_id = await opened(router, browser, contact=canary)
        page = (await browser.get(f"/dashboard/wijkhubs/{hub_id}")).text
        dashboard = (await browser.get("/dashboard")).text
        api = await router.http.get(
            f"/api/v1/wijkhubs/{hub_id}/evaluation", headers=router.operator
        )
    contact = section(page, '<section id="contact"', "</section>")
    assert canary in contact and "vertrouwelijk" in contact
    assert page.count(canary) == 1
    evaluation = section(page, '<section class="wijkhub-report"', "</section>")
    assert canary not in evaluation and "06 12345678" not in evaluation
    assert canary not in dashboard and canary not in api.text
    outbox = await router.fetch("SELECT key, value, headers::text AS h FROM outbox")
    assert outbox and not [r for r in outbox if canary.encode() in r["value"] + (r["key"] or b"")]
    assert not [r for r in outbox if canary in (r["h"] or "")]
    hubs = await router.fetch("SELECT * FROM wijkhubs")
    assert canary not in html.unescape(repr([dict(r) for r in hubs]))  # sealed, not in clear
    logs = "\n".join([repr(logged), caplog.text, *capfd.readouterr()])
    assert canary not in logs
