"""Realistic partner traffic for demos, tests and benchmarks (Dutch streets, real buurt codes)."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tools.devstack import DEMO_PARTNERS, DemoCredentials, secret_env_name
from wijkbus.partners import Partner, PartnerRegistry, api_key_hash

# Streets of Groningen's De Hoogte, Korrewegwijk and Oosterparkwijk with their CBS buurt codes.
STREETS = [
    ("Asingastraat", "BU00140107"),
    ("Bedumerweg", "BU00140107"),
    ("Eikenlaan", "BU00140107"),
    ("Hoogte", "BU00140107"),
    ("Gorechtkade", "BU00140108"),
    ("Korreweg", "BU00140110"),
    ("Kerklaan", "BU00140110"),
    ("Oosterparkstraat", "BU00140114"),
    ("Vinkhuizenstraat", "BU00140115"),
    ("Damsterdiep", "BU00140114"),
    ("Iepenlaan", "BU00140107"),
    ("Van Houtenlaan", "BU00140110"),
]
SUBCATEGORIES = {
    "overlast": ["geluid", "jongeren", "buren"],
    "vernieling": ["bushokje", "auto", "portiek"],
    "vervuiling": ["afval", "grofvuil", "hondenpoep"],
}


def demo_partner_registry() -> tuple[PartnerRegistry, DemoCredentials]:
    """The demo partners with fresh random keys, as an in-memory registry."""
    creds = DemoCredentials(
        operator_token=uuid.uuid4().hex,
        notify_secret_key=uuid.uuid4().hex,
        api_keys={p["id"]: "wb_" + uuid.uuid4().hex for p in DEMO_PARTNERS},
        signing_secrets={p["id"]: uuid.uuid4().hex for p in DEMO_PARTNERS},
    )
    partners = [
        Partner(
            **p,
            api_key_sha256=api_key_hash(creds.api_keys[p["id"]]),
            signing_secret_env=secret_env_name(p["id"]),
        )
        for p in DEMO_PARTNERS
    ]
    secrets = {pid: s.encode() for pid, s in creds.signing_secrets.items()}
    return PartnerRegistry(partners, secrets), creds


def realistic_signals(source: str, count: int, *, seed: int = 0) -> Iterator[bytes]:
    """`count` valid overlast/vernieling/vervuiling CloudEvents from `source`, as partner JSON."""
    rng = random.Random(seed)
    run = uuid.UUID(int=rng.getrandbits(128)).hex[:8]
    for n in range(count):
        categorie = rng.choice(list(SUBCATEGORIES))
        street, buurt = rng.choice(STREETS)
        minute = rng.randrange(0, 60 * 24 * 30)
        observed = (
            f"2026-11-{1 + minute // 1440:02d}T{minute // 60 % 24:02d}:{minute % 60:02d}:00+01:00"
        )
        event = {
            "specversion": "1.0",
            "id": f"SIM-{run}-{n:07d}",
            "source": source,
            "type": f"nl.wijkaanpak.signaal.{categorie}",
            "time": observed,
            "datacontenttype": "application/json",
            "data": {
                "observed_at": observed,
                "location": {
                    "street": street,
                    "house_number": str(rng.randint(1, 120)),
                    "city": "Groningen",
                    "buurt_code": buurt,
                },
                "severity": rng.choice(["laag", "normaal", "normaal", "hoog"]),
                "subcategory": rng.choice(SUBCATEGORIES[categorie]),
                "description": "Gemeld via de simulator",
            },
        }
        yield json.dumps(event, separators=(",", ":")).encode()


SCENARIOS = ("gemengd", "de-hoogte", "veenendaal")


def scenario_events(scenario: str, source: str, count: int, *, seed: int = 0) -> Iterator[bytes]:
    """Partner CloudEvents for a named scenario.

    - `gemengd`: overlast, vernieling and vervuiling anywhere in the Netherlands (faker nl_NL);
    - `de-hoogte`: a cluster of overlast in one street of Groningen's De Hoogte (a wijkhub case);
    - `veenendaal`: a housing corporation reporting vandalism and rent arrears (with a person,
      fictitious, from faker) in Veenendaal.
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    from faker import Faker  # imported here: only the simulator needs it

    fake = Faker("nl_NL")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    run = uuid.UUID(int=rng.getrandbits(128)).hex[:8]
    for n in range(count):
        categorie, location, person = _scenario_signal(scenario, fake, rng)
        minute = rng.randrange(0, 60 * 24 * 28)
        observed = (
            f"2026-11-{1 + minute // 1440:02d}T{minute // 60 % 24:02d}:{minute % 60:02d}:00+01:00"
        )
        data: dict[str, object] = {
            "observed_at": observed,
            "location": location,
            "severity": rng.choice(["laag", "normaal", "normaal", "hoog"]),
            "subcategory": rng.choice(SUBCATEGORIES.get(categorie, ["betalingsachterstand"])),
        }
        if person:
            data["person"] = person
        event = {
            "specversion": "1.0",
            "id": f"{scenario.upper()}-{run}-{n:07d}",
            "source": source,
            "type": f"nl.wijkaanpak.signaal.{categorie}",
            "time": observed,
            "datacontenttype": "application/json",
            "data": data,
        }
        yield json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


def _scenario_signal(
    scenario: str, f: Any, rng: random.Random
) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
    if scenario == "de-hoogte":
        location = {
            "street": "Asingastraat",
            "house_number": str(rng.randint(1, 80)),
            "postcode": "9714 AB",
            "city": "Groningen",
            "buurt_code": "BU00140107",
        }
        return "overlast", location, None
    if scenario == "veenendaal":
        location = {
            "street": f.street_name(),
            "house_number": f.building_number(),
            "city": "Veenendaal",
        }
        if rng.random() < 0.3:
            person = {
                "name": f.name(),
                "phone": f.phone_number(),
                "email": f.email(),
                "arrears_cents": rng.randint(20_000, 400_000),
                "arrears_since": f"2026-{rng.randint(1, 10):02d}-01",
            }
            return "huurachterstand", location, person
        return "vernieling", location, None
    location = {
        "street": f.street_name(),
        "house_number": f.building_number(),
        "postcode": f.postcode(),
        "city": f.city(),
    }
    return rng.choice(list(SUBCATEGORIES)), location, None


@dataclass(frozen=True)
class StoryIncident:
    """One incident of a scenario told over time: where, what, when seen and when accepted."""

    phase: str
    street: str
    categorie: str
    observed_at: datetime
    received_at: datetime


HUB_STREET = "Asingastraat"  # De Hoogte (BU00140107): the street that gets a wijkhub
COMPARISON_STREETS = ("Bedumerweg", "Eikenlaan")  # the same buurt's other streets


def de_hoogte_story(opened_at: datetime, weeks: int = 6) -> dict[str, list[StoryIncident]]:
    """The `de-hoogte` scenario as a wijkhub story, by phase, for a hub opened at `opened_at`
    that runs `weeks` weeks: a cluster of overlast in Asingastraat in the month before (15
    incidents, all reported at the opening, so the street crosses its threshold), then one a
    week while the hub runs; the buurt's other streets go on as before (5 in the month before,
    then one a week each)."""
    before = [
        StoryIncident(
            "voor", HUB_STREET, "overlast", opened_at - timedelta(days=2 * i + 1), opened_at
        )
        for i in range(15)
    ]
    before += [
        StoryIncident(
            "voor",
            street,
            "vernieling" if i % 2 else "vervuiling",
            opened_at - timedelta(days=6 * i + 2),
            opened_at,
        )
        for street in COMPARISON_STREETS
        for i in range(5)
    ]
    during = [
        StoryIncident("tijdens", street, "overlast", at - timedelta(minutes=30), at)
        for week in range(weeks)
        for at in [opened_at + timedelta(weeks=week, hours=1)]
        for street in (HUB_STREET, *COMPARISON_STREETS)
    ]
    return {"voor": before, "tijdens": during}
