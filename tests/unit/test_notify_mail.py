"""The Dutch e-mails: one per event type, street level only, never personal data."""

from __future__ import annotations

import json
from typing import Any

from contracts.events import (
    ROUTING_ASSIGNED_TYPE,
    ROUTING_ESCALATED_TYPE,
    STREET_THRESHOLD_CROSSED_TYPE,
)
from services.notify.mail import INITIATIVE_FUNDED_TYPE, MailRenderer, _euro

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


def test_other_events_get_a_short_mail_without_their_data() -> None:
    mail = MailRenderer().render(event("nl.wijkaanpak.routing.resolved", outcome="opgelost"))
    assert mail.subject == "Nieuwe gebeurtenis in wijkbus"
    assert "nl.wijkaanpak.routing.resolved" in mail.text
    assert "opgelost" not in mail.text
    assert_private(mail.text)


def test_euros_are_written_the_dutch_way() -> None:
    assert _euro(1000) == "€ 10,00"
    assert _euro(123456789) == "€ 1.234.567,89"
