"""The dev stack's wijkhub demo: a De Hoogte street over its wijkhub threshold, so an operator
can open a hub from routing's dashboard right away.

A demo partner sends the signals over intake's HTTP API, observed over the last three weeks:
eight overlast reports in Asingastraat (the demo rules advise a wijkhub from three overlast or
vernieling in 30 days) and a few in Bedumerweg and Eikenlaan, the buurt's other streets that
the evaluation compares with. Only while routing has no advice and no hubs yet; the event ids
are fixed, so signals sent before are never sent twice (intake answers duplicate or conflict).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from contracts.envelope import BATCH_CONTENT_TYPE
from tools.simulate import COMPARISON_STREETS, HUB_STREET

PARTNER = "woonstichting-noord"  # may send overlast and vernieling
BUURT = "BU00140107"  # De Hoogte
# (street, categorie, days ago observed): 8 in the hub street, 2 in each other street
SIGNALS = [(HUB_STREET, "overlast", d) for d in (1, 2, 4, 6, 9, 12, 15, 19)] + [
    (COMPARISON_STREETS[0], "vernieling", 5),
    (COMPARISON_STREETS[0], "overlast", 16),
    (COMPARISON_STREETS[1], "overlast", 8),
    (COMPARISON_STREETS[1], "vernieling", 20),
]


def events(source: str, now: datetime) -> list[dict[str, Any]]:
    """The demo's partner CloudEvents, observed before `now`, each under a fixed id."""
    found = []
    for n, (street, categorie, days) in enumerate(SIGNALS):
        observed = (now - timedelta(days=days, hours=n % 5 + 1)).isoformat(timespec="seconds")
        found.append(
            {
                "specversion": "1.0",
                "id": f"WIJKHUB-DEMO-{n:02d}",
                "source": source,
                "type": f"nl.wijkaanpak.signaal.{categorie}",
                "time": observed,
                "datacontenttype": "application/json",
                "data": {
                    "observed_at": observed,
                    "location": {
                        "street": street,
                        "house_number": str(10 + 7 * n),
                        "city": "Groningen",
                        "buurt_code": BUURT,
                    },
                    "severity": "normaal",
                    "subcategory": "jongeren" if categorie == "overlast" else "portiek",
                    "description": "Demo: gemeld voor de wijkhub",
                },
            }
        )
    return found


def seed(
    intake: httpx.Client,
    routing: httpx.Client,
    source: str,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    within_s: float = 30.0,
) -> str | None:
    """Send the demo's signals once; the advised street's name when routing advises a hub.

    `intake` bears the demo partner's API key, `routing` the operator token.
    """
    advice = _listed(routing, "/api/v1/wijkhubs/advice")
    if advice or _listed(routing, "/api/v1/wijkhubs"):
        return _advised(advice)  # seeded before, or the team is at work already
    body = json.dumps(events(source, now())).encode()
    answer = intake.post("/api/v1/events", content=body,
                         headers={"Content-Type": BATCH_CONTENT_TYPE})  # fmt: skip
    answer.raise_for_status()
    if not any(a["status"] == "accepted" for a in answer.json()):
        return None  # sent on an earlier run, and decided on since
    deadline = time.monotonic() + within_s
    while (street := _advised(_listed(routing, "/api/v1/wijkhubs/advice"))) is None:
        if time.monotonic() > deadline:
            return None
        time.sleep(0.5)
    return street


def _advised(advice: list[dict[str, Any]]) -> str | None:
    return next((a["street"] for a in advice if a["street"] == HUB_STREET), None)


def _listed(routing: httpx.Client, path: str) -> list[dict[str, Any]]:
    answer = routing.get(path)
    answer.raise_for_status()
    found: list[dict[str, Any]] = answer.json()
    return found
