"""wijkbus's events as Notificaties API kanalen, and an event as a `notificatie` (pure).

The VNG Notificaties API (1.0) delivers a `notificatie` per change: on which `kanaal`, about
which `hoofdObject` and `resource` (at `resourceUrl`), which `actie`, when (`aanmaakdatum`),
and its `kenmerken` (string values an abonnement filters on). The mapping from wijkbus's
CloudEvent types is fixed here; README.md shows it as a table.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from contracts.events import EVENT_TYPES

KANAAL_NAMESPACE = uuid.UUID("6f1c5a52-3d1e-4c59-9d55-8f0f6b0e7a10")


@dataclass(frozen=True)
class Resource:
    """What one event type is, in the Notificaties API's words."""

    type: str  # the CloudEvent type, in full
    resource: str
    actie: str


@dataclass(frozen=True)
class Kanaal:
    """A channel: its name, the kenmerken its notificaties carry, and the types on it."""

    naam: str
    filters: tuple[str, ...]
    resources: tuple[Resource, ...]
    documentatie: str

    @property
    def uuid(self) -> str:
        """A stable id for the kanaal's URL (`/kanaal/{uuid}`)."""
        return str(uuid.uuid5(KANAAL_NAMESPACE, self.naam))

    @property
    def types(self) -> tuple[str, ...]:
        """The CloudEvent types this kanaal carries."""
        return tuple(r.type for r in self.resources)


def _r(kind: str, resource: str, actie: str) -> Resource:
    type_ = f"nl.wijkaanpak.{kind}"
    assert type_ in EVENT_TYPES, type_  # a kanaal names only types wijkbus publishes
    return Resource(type_, resource, actie)


KANALEN: tuple[Kanaal, ...] = (
    Kanaal(
        "signalen",
        ("categorie", "buurt_code", "partner"),
        (
            _r("intake.signal-accepted", "signaal", "create"),
            _r("intake.feedback-received", "terugkoppeling", "create"),
        ),
        "Signalen die intake van een partner aannam, en de terugkoppeling erop.",
    ),
    Kanaal(
        "toewijzingen",
        ("categorie", "buurt_code", "partner"),
        (
            _r("routing.assigned", "toewijzing", "create"),
            _r("routing.escalated", "toewijzing", "update"),
            _r("routing.acknowledged", "toewijzing", "update"),
            _r("routing.resolved", "toewijzing", "update"),
        ),
        "Wie een signaal oppakt: toegewezen, geëscaleerd, opgepakt, afgehandeld.",
    ),
    Kanaal(
        "straten",
        ("buurt_code",),
        (_r("streets.threshold-crossed", "straat", "update"),),
        "Straten die een drempel van incidenten overschreden.",
    ),
    Kanaal(
        "wijkhubs",
        ("buurt_code", "partner"),
        (
            _r("wijkhub.advised", "advies", "create"),
            _r("wijkhub.declined", "advies", "update"),
            _r("wijkhub.opened", "wijkhub", "create"),
            _r("wijkhub.extended", "wijkhub", "update"),
            _r("wijkhub.closed", "wijkhub", "update"),
        ),
        "Het advies een wijkhub te openen, het besluit erover, en de wijkhub zelf.",
    ),
    Kanaal(
        "buurtbudget",
        ("buurt_code",),
        # A ballot is secret and a closed year is the municipality's: neither is a resource
        # someone could read, so budget.ballot-cast and budget.year-closed are on no kanaal.
        tuple(
            _r(f"budget.initiative-{verb}", "initiatief", actie)
            for verb, actie in (
                ("proposed", "create"),
                ("admitted", "update"),
                ("declined", "update"),
                ("withdrawn", "update"),
                ("supported", "update"),
                ("support-withdrawn", "update"),
                ("funded", "update"),
                ("not-funded", "update"),
            )
        ),
        "Initiatieven van het buurtbudget: voorgesteld, toegelaten, gesteund, besloten.",
    ),
)
BY_NAAM = {k.naam: k for k in KANALEN}
BY_TYPE = {r.type: (k, r) for k in KANALEN for r in k.resources}


@dataclass(frozen=True)
class Urls:
    """Where the services' APIs are, for `hoofdObject` and `resourceUrl`."""

    intake: str
    routing: str
    budget: str


# Until settings name the services' public addresses (a replay, whose bodies are never sent).
UNCONFIGURED = Urls("http://intake.invalid", "http://routing.invalid", "http://budget.invalid")


def notificatie(
    event_type: str, data: Mapping[str, Any], at: datetime, urls: Urls
) -> dict[str, Any] | None:
    """The notificatie for an event, or None when no kanaal carries its type."""
    found = BY_TYPE.get(event_type)
    if found is None:
        return None
    kanaal, resource = found
    hoofd, url = _locations(kanaal.naam, resource.resource, data, urls)
    return {
        "kanaal": kanaal.naam,
        "hoofdObject": hoofd,
        "resource": resource.resource,
        "resourceUrl": url,
        "actie": resource.actie,
        "aanmaakdatum": at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "kenmerken": _kenmerken(kanaal, data),
    }


def _kenmerken(kanaal: Kanaal, data: Mapping[str, Any]) -> dict[str, str]:
    """The kanaal's kenmerken the event names (a notificatie leaves out those it does not)."""
    partner = data.get("partner_id") or data.get("to_partner_id")
    values = {"categorie": data.get("categorie"), "buurt_code": data.get("buurt_code"),
              "partner": partner}  # fmt: skip
    return {k: str(values[k]) for k in kanaal.filters if values.get(k)}


def _locations(kanaal: str, resource: str, data: Mapping[str, Any], urls: Urls) -> tuple[str, str]:
    """(hoofdObject, resourceUrl): the API where someone allowed to can read each."""
    if kanaal in ("signalen", "toewijzingen"):
        signal = f"{urls.intake}/api/v1/signals/{quote(str(data['signal_id']), safe='')}"
        return signal, signal
    if kanaal == "straten" or resource == "advies":
        street = f"{urls.routing}/api/v1/streets/{quote(str(data['street_key']), safe='')}"
        return street, street if kanaal == "straten" else f"{urls.routing}/api/v1/wijkhubs/advice"
    if kanaal == "wijkhubs":
        hub = f"{urls.routing}/api/v1/wijkhubs/{quote(str(data['hub_id']), safe='')}"
        return hub, hub
    initiative = f"{urls.budget}/api/v1/initiatives/{quote(str(data['initiative_id']), safe='')}"
    return initiative, initiative


def wanted(kanalen: list[dict[str, Any]], note: Mapping[str, Any]) -> bool:
    """Whether an abonnement's kanalen take this notificatie, as the standard matches: the
    kanaal by name; each filter whose kenmerk the notificatie has must equal it (or be '*')."""
    kenmerken = note["kenmerken"]
    return any(
        group["naam"] == note["kanaal"]
        and all(
            value == "*" or key not in kenmerken or kenmerken[key] == value
            for key, value in (group.get("filters") or {}).items()
        )
        for group in kanalen
    )
