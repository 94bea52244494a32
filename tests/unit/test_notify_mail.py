"""The Dutch e-mails: one per event type, street level only, never personal data."""

from __future__ import annotations

import json
from typing import Any

from contracts.envelope import new_event, to_json_bytes
from contracts.events import (
    INITIATIVE_DECLINED_TYPE,
    ROUTING_ASSIGNED_TYPE,
    ROUTING_ESCALATED_TYPE,
    STREET_THRESHOLD_CROSSED_TYPE,
)
from contracts.wijkhubs import (
    WIJKHUB_ADVISED_TYPE,
    WIJKHUB_CLOSED_TYPE,
    WIJKHUB_DECLINED_TYPE,
    WIJKHUB_EVENT_TYPES,
    WIJKHUB_EXTENDED_TYPE,
    WIJKHUB_OPENED_TYPE,
)
from services.notify.mail import INITIATIVE_FUNDED_TYPE, MailRenderer, _euro, _number
from tests.unit.test_contracts_events import WIJKHUB_SAMPLES

CANARY = "Kanarie-Jansen"
PERSONAL = {
    "person": {"name": CANARY, "phone": "0612345678", "email": "kanarie@example.nl"},
    "description": f"{CANARY} op nummer 43 heeft een achterstand",
    "house_number": "43",
    "postcode": "9714AB",
    "initiator_name": CANARY,
    "initiator_email": "kanarie@example.nl",
}


def event(type_: str, **data: Any) -> bytes:
    return json.dumps(
        {
            "specversion": "1.0",
            "id": "ev-1",
            "source": "urn:nld:wijkbus:test",
            "type": type_,
            "time": "2026-11-20T20:30:00Z",
            "data": {**PERSONAL, **data},
        }
    ).encode()


def assert_private(text: str) -> None:
    for leak in (CANARY, "0612345678", "kanarie@example.nl", "9714AB", " 43"):
        assert leak not in text


def test_an_assignment_tells_the_team_in_dutch_what_and_where() -> None:
    mail = MailRenderer().render(
        event(
            ROUTING_ASSIGNED_TYPE,
            signal_id="sig-1",
            partner_id="politie-groningen",
            categorie="overlast",
            street_key="naam:groningen:asingastraat",
            buurt_code="BU00140107",
            rule_id="overlast-de-hoogte",
            assigned_at="2026-11-20T20:30:00Z",
            acknowledge_by="2026-11-21T08:00:00Z",
            has_person=False,
        )
    )
    assert mail.subject == "Nieuw signaal voor uw team: overlast in naam:groningen:asingastraat"
    assert "aan uw organisatie toegewezen" in mail.text
    assert "20-11-2026 21:30" in mail.text  # Dutch local time
    assert "Graag oppakken vóór: 21-11-2026 09:00" in mail.text
    assert "persoonsgegevens" not in mail.text
    assert_private(mail.subject + mail.text)


def test_an_assignment_names_the_street_as_people_read_it_when_the_event_has_it() -> None:
    mail = MailRenderer().render(
        event(
            ROUTING_ASSIGNED_TYPE,
            categorie="overlast",
            street_key="bag:0014300000123456",
            street="Asingastraat",
            city="Groningen",
            assigned_at="2026-11-20T20:30:00Z",
        )
    )
    assert mail.subject == "Nieuw signaal voor uw team: overlast in Asingastraat, Groningen"
    assert "Straat:          Asingastraat, Groningen" in mail.text
    assert_private(mail.subject + mail.text)


def test_a_signal_with_a_person_only_says_authorised_partners_can_fetch_it() -> None:
    mail = MailRenderer().render(
        event(
            ROUTING_ASSIGNED_TYPE, signal_id="sig-2", categorie="huurachterstand", has_person=True
        )
    )
    assert "Bij dit signaal horen persoonsgegevens" in mail.text
    assert "bevoegd zijn, kunnen ze met het signaalnummer ophalen" in mail.text
    assert_private(mail.subject + mail.text)


def test_an_escalation_tells_the_gebiedsmanager_who_has_it_now() -> None:
    mail = MailRenderer().render(
        event(
            ROUTING_ESCALATED_TYPE,
            signal_id="sig-3",
            from_partner_id="woonstichting-noord",
            to_partner_id="gemeente-groningen",
            reason="niet opgepakt binnen 24 uur",
            escalated_at="2026-11-21T09:00:00Z",
        )
    )
    assert mail.subject.startswith("Escalatie: signaal sig-3 is doorgezet naar gemeente-groningen")
    assert "Beste gebiedsmanager" in mail.text
    assert "Eerst bij:       woonstichting-noord" in mail.text
    assert_private(mail.subject + mail.text)


def test_a_crossed_threshold_gives_the_counts_and_the_wijkhub_advice() -> None:
    mail = MailRenderer().render(
        event(
            STREET_THRESHOLD_CROSSED_TYPE,
            street_key="naam:groningen:asingastraat",
            street="Asingastraat",
            city="Groningen",
            rule_id="wijkhub",
            window_days=28,
            counts={"overlast": 4, "vernieling": 2},
            advice="Open een tijdelijke wijkhub in deze straat.",
            crossed_at="2026-11-20T20:30:00Z",
        )
    )
    assert mail.subject == "Drempel overschreden in Asingastraat, Groningen: advies wijkhub"
    assert "afgelopen 28 dagen" in mail.text
    assert "  - overlast: 4\n  - vernieling: 2" in mail.text
    assert "Advies: Open een tijdelijke wijkhub in deze straat." in mail.text
    assert_private(mail.subject + mail.text)


def test_a_funded_initiative_congratulates_the_initiator_without_naming_them() -> None:
    mail = MailRenderer().render(
        event(
            INITIATIVE_FUNDED_TYPE,
            initiative_id="ini-7",
            title="Moestuin op het pleintje",
            amount_cents=125000,
            buurt_code="BU00140107",
            funded_at="2026-11-20T20:30:00Z",
        )
    )
    assert mail.subject == 'Uw initiatief "Moestuin op het pleintje" is gefinancierd'
    assert "Beste initiatiefnemer" in mail.text
    assert "€ 1.250,00" in mail.text
    assert_private(mail.subject + mail.text)


def test_a_declined_initiative_tells_the_initiator_the_operators_reason() -> None:
    mail = MailRenderer().render(
        event(
            INITIATIVE_DECLINED_TYPE,
            initiative_id="ini-8",
            title="Vuurwerkshow",
            reason="Vuurwerk valt buiten het buurtbudget.",
            buurt_code="BU00140107",
            declined_at="2026-11-20T20:30:00Z",
        )
    )
    assert mail.subject == 'Uw initiatief "Vuurwerkshow" is niet toegelaten'
    assert "Reden: Vuurwerk valt buiten het buurtbudget." in mail.text
    assert "20-11-2026 21:30" in mail.text
    assert_private(mail.subject + mail.text)


def test_other_events_get_a_short_mail_without_their_data() -> None:
    mail = MailRenderer().render(event("nl.wijkaanpak.routing.resolved", outcome="opgelost"))
    assert mail.subject == "Nieuwe gebeurtenis in wijkbus"
    assert "nl.wijkaanpak.routing.resolved" in mail.text
    assert "opgelost" not in mail.text
    assert_private(mail.text)


def test_euros_are_written_the_dutch_way() -> None:
    assert _euro(1000) == "€ 10,00"
    assert _euro(123456789) == "€ 1.234.567,89"


def test_numbers_are_written_the_dutch_way_with_one_decimal() -> None:
    assert _number(2.26) == "2,3"
    assert _number(-0.5) == "-0,5"
    assert _number(3) == "3,0"
    assert _number(None) == ""


# Who opened, declined, extended or closed a hub is a person: no wijkhub mail names them.
_BY = {"opened_by", "declined_by", "extended_by", "closed_by"}


def wijkhub(event_type: str, **changes: Any) -> bytes:
    """A wijkhub event from the contract's samples, as notify stores it."""
    sample = {**WIJKHUB_SAMPLES[event_type], **changes}
    sample.update({k: CANARY for k in _BY & set(sample)})
    data = WIJKHUB_EVENT_TYPES[event_type].model_validate(sample)
    return to_json_bytes(new_event(event_type, "urn:nld:wijkbus:routing", data, subject="s"))


def test_an_advice_asks_the_gebiedsmanager_to_open_a_hub_or_record_a_decision() -> None:
    mail = MailRenderer().render(wijkhub(WIJKHUB_ADVISED_TYPE))
    assert mail.subject == "Advies wijkhub voor Asingastraat, Groningen"
    assert "Beste gebiedsmanager" in mail.text
    assert "afgelopen 30 dagen" in mail.text
    assert "  - overlast: 5" in mail.text
    assert "Advies: Overweeg een wijkhub." in mail.text
    assert "Geadviseerd op:  20-11-2026 21:30" in mail.text  # 20:30 UTC in Amsterdam
    assert "Open de wijkhub of leg een besluit vast op het routeringsdashboard." in mail.text
    assert CANARY not in mail.text


def test_an_opened_hub_tells_where_when_who_and_what_for() -> None:
    mail = MailRenderer().render(
        wijkhub(
            WIJKHUB_OPENED_TYPE,
            starts_at="2026-11-23T08:00:00Z",
            ends_at="2027-01-31T17:00:00Z",
            partners=["politie-groningen", "wij-groningen"],
            aims="Overlast terugdringen en bewoners bereiken.",
        )
    )
    assert mail.subject == "Wijkhub geopend: Asingastraat 43, Groningen"
    assert "Adres:           Asingastraat 43, Groningen" in mail.text
    assert "Van:             23-11-2026 09:00" in mail.text  # winter time: UTC+1
    assert "Tot:             31-01-2027 18:00" in mail.text
    assert "Partners:        politie-groningen, wij-groningen" in mail.text
    assert "Aanspreekpunt:   wijkagent" in mail.text
    assert "Doelen:\nOverlast terugdringen en bewoners bereiken." in mail.text
    assert "Buurt:           BU00140107" in mail.text
    assert CANARY not in mail.subject + mail.text


def test_a_declined_advice_gives_the_street_and_the_reason() -> None:
    mail = MailRenderer().render(wijkhub(WIJKHUB_DECLINED_TYPE))
    assert mail.subject == "Geen wijkhub in Asingastraat, Groningen"
    assert "Straat:          Asingastraat, Groningen" in mail.text
    assert "Reden: Al een aanpak." in mail.text
    assert "Besloten op:     20-11-2026 21:30" in mail.text
    assert CANARY not in mail.subject + mail.text


def test_an_extension_gives_the_new_end() -> None:
    mail = MailRenderer().render(
        wijkhub(
            WIJKHUB_EXTENDED_TYPE,
            previous_ends_at="2027-01-31T17:00:00Z",
            ends_at="2027-04-30T16:00:00Z",
        )
    )
    assert (
        mail.subject == "Wijkhub Asingastraat 43 verlengd tot 30-04-2027 18:00"
    )  # summer time: UTC+2
    assert "Was tot:         31-01-2027 18:00" in mail.text
    assert "Nu tot:          30-04-2027 18:00" in mail.text
    assert "Partners:        politie-groningen" in mail.text
    assert CANARY not in mail.subject + mail.text


def test_a_closed_hub_gives_the_outcome_and_says_its_numbers_are_no_proof() -> None:
    mail = MailRenderer().render(wijkhub(WIJKHUB_CLOSED_TYPE))
    assert mail.subject == "Wijkhub Asingastraat 43 gesloten: uitkomst en evaluatie"
    assert "Uitkomst volgens het team:\nRustiger." in mail.text
    assert "  - ervoor (1,0 weken):  2,0\n  - tijdens (1,0 weken): 2,0" in mail.text
    assert "Verschil-in-verschillen: niet te berekenen" in mail.text
    assert "andere straten van de buurt:" not in mail.text
    assert "een aanwijzing, geen bewijs" in mail.text
    assert CANARY not in mail.subject + mail.text


def test_a_closed_hub_with_comparison_streets_gives_the_difference_in_differences() -> None:
    sample = WIJKHUB_SAMPLES[WIJKHUB_CLOSED_TYPE]
    group = sample["evaluation"]["hub"]
    hub = {**group, "during": {**group["during"], "per_week": 0.5}}
    comparison = {
        **group,
        "streets": 4,
        "before": {**group["before"], "per_street_week": 1.5},
        "during": {**group["during"], "per_street_week": 1.0},
    }
    evaluation = {
        **sample["evaluation"],
        "hub": hub,
        "comparison": comparison,
        "difference_in_differences": -1.3,
    }
    mail = MailRenderer().render(wijkhub(WIJKHUB_CLOSED_TYPE, evaluation=evaluation))
    assert "  - tijdens (1,0 weken): 0,5" in mail.text
    assert "in de 4 andere straten van de buurt:" in mail.text
    assert "  - ervoor:  1,5" in mail.text
    assert "  - tijdens: 1,0" in mail.text
    assert "Verschil-in-verschillen: -1,3 signalen per straat per week" in mail.text
    assert "een aanwijzing, geen bewijs" in mail.text
