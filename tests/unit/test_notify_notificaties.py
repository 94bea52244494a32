"""wijkbus's events as Notificaties API notificaties: every kanaal's types map to a notificatie
of the standard's shape, and abonnementen filter on kenmerken as the standard matches."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from contracts.events import EVENT_TYPES
from services.notify.notificaties.abonnementen import FilterGroup, _checked
from services.notify.notificaties.kanalen import BY_TYPE, KANALEN, Urls, notificatie, wanted
from services.notify.subscriptions import Refused
from tests.unit.test_contracts_events import SAMPLES

SCHEMAS = json.loads(
    (Path(__file__).parents[1] / "data/notificaties-api-1.0.schemas.json").read_text()
)
URLS = Urls("https://intake.example.nl", "https://routing.example.nl", "https://budget.example.nl")
AT = datetime(2026, 11, 20, 21, 15, tzinfo=UTC)


def schema(name: str) -> dict[str, Any]:
    return {"$defs": SCHEMAS["$defs"], "$ref": f"#/$defs/{name}"}


BUURT = "BU00140107"


def note(event_type: str) -> dict[str, Any]:
    sample = (
        {**SAMPLES[event_type], "buurt_code": BUURT}
        if "buurt_code" in SAMPLES[event_type]
        else SAMPLES[event_type]
    )
    data = EVENT_TYPES[event_type].model_validate(sample).model_dump(mode="json")
    made = notificatie(event_type, data, AT, URLS)
    assert made is not None
    return made


@pytest.mark.parametrize("event_type", sorted(BY_TYPE))
def test_every_type_on_a_kanaal_is_a_notificatie_of_the_standards_shape(event_type: str) -> None:
    made = note(event_type)
    jsonschema.validate(made, schema("Notificatie"))
    assert made["aanmaakdatum"] == "2026-11-20T21:15:00Z"
    assert made["resourceUrl"].startswith("https://") and made["hoofdObject"].startswith("https://")
    kanaal, _ = BY_TYPE[event_type]
    assert set(made["kenmerken"]) <= set(kanaal.filters)


def test_an_assignment_names_its_categorie_buurt_and_partner_and_points_at_the_signal() -> None:
    made = note("nl.wijkaanpak.routing.assigned")
    data = SAMPLES["nl.wijkaanpak.routing.assigned"]
    assert (made["kanaal"], made["resource"], made["actie"]) == (
        "toewijzingen",
        "toewijzing",
        "create",
    )
    assert made["kenmerken"] == {
        "categorie": data["categorie"],
        "buurt_code": BUURT,
        "partner": data["partner_id"],
    }
    assert made["resourceUrl"] == f"https://intake.example.nl/api/v1/signals/{data['signal_id']}"


def test_an_escalation_names_the_partner_it_went_to() -> None:
    made = note("nl.wijkaanpak.routing.escalated")
    assert (
        made["kenmerken"]["partner"] == SAMPLES["nl.wijkaanpak.routing.escalated"]["to_partner_id"]
    )
    assert made["actie"] == "update"


def test_a_type_on_no_kanaal_is_no_notificatie() -> None:
    assert notificatie("nl.wijkaanpak.budget.ballot-cast", {}, AT, URLS) is None
    assert all(t in EVENT_TYPES for k in KANALEN for t in k.types)


def test_kanalen_match_as_the_standard_matches() -> None:
    made = note("nl.wijkaanpak.routing.assigned")
    buurt = made["kenmerken"]["buurt_code"]
    assert wanted([{"naam": "toewijzingen", "filters": {"buurt_code": buurt}}], made)
    assert not wanted([{"naam": "toewijzingen", "filters": {"buurt_code": "BU99999999"}}], made)
    assert wanted([{"naam": "toewijzingen", "filters": {"buurt_code": "*"}}], made)
    assert not wanted([{"naam": "straten", "filters": {}}], made)
    # A kenmerk the notificatie does not carry does not exclude it (the standard's rule).
    acknowledged = note("nl.wijkaanpak.routing.acknowledged")
    assert "categorie" not in acknowledged["kenmerken"]
    assert wanted([{"naam": "toewijzingen", "filters": {"categorie": "overlast"}}], acknowledged)


def test_what_an_abonnement_may_not_ask_for_is_refused_by_field() -> None:
    with pytest.raises(Refused) as unknown:
        _checked([FilterGroup(naam="zaken")], None)
    assert unknown.value.errors == [
        {"field": "kanalen.0.naam", "message": "Kanaal met deze naam bestaat niet."}
    ]
    with pytest.raises(Refused) as kenmerk:
        _checked([FilterGroup(naam="straten", filters={"categorie": "overlast"})], None)
    assert kenmerk.value.errors[0]["field"] == "kanalen.0.filters"
    with pytest.raises(Refused) as never:
        _checked([FilterGroup(naam="straten")], "politie-groningen")
    assert "names no partner" in never.value.errors[0]["message"]
    with pytest.raises(Refused) as other:
        _checked(
            [FilterGroup(naam="toewijzingen", filters={"partner": "ggd"})], "politie-groningen"
        )
    assert other.value.errors[0]["field"] == "kanalen.0.filters.partner"
    assert _checked([FilterGroup(naam="toewijzingen")], "politie-groningen") == [
        {"naam": "toewijzingen", "filters": {}}
    ]
