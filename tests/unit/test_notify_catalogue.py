"""Which subscriptions can never hear an event: refused at once instead of kept silent."""

from __future__ import annotations

from contracts.events import EVENT_TYPES, ROUTING_ESCALATED_TYPE
from contracts.wijkhubs import WIJKHUB_ADVISED_TYPE, WIJKHUB_OPENED_TYPE
from services.notify.catalogue import DELIVERED_TYPES, never_matching
from services.notify.domain import Filters

PARTNER = Filters(partner="politie-groningen")


def test_a_partner_hears_routing_and_the_hubs_it_takes_part_in() -> None:
    prefixes = ["nl.wijkaanpak.routing.", ROUTING_ESCALATED_TYPE, WIJKHUB_OPENED_TYPE]
    assert never_matching(prefixes, PARTNER) == []
    assert never_matching(["nl.wijkaanpak.wijkhub."], PARTNER) == []


def test_advice_and_budget_name_no_partner() -> None:
    errors = never_matching([WIJKHUB_ADVISED_TYPE, "nl.wijkaanpak.budget."], PARTNER)
    assert [e["field"] for e in errors] == ["types.0", "types.1"]
    assert all("names a partner" in e["message"] for e in errors)
    assert never_matching([WIJKHUB_ADVISED_TYPE], Filters()) == []


def test_every_filter_set_needs_its_field() -> None:
    assert never_matching(["nl.wijkaanpak.budget."], Filters(buurt_code="BU00140107")) == []
    [error] = never_matching(["nl.wijkaanpak.budget."], Filters(street_key="naam:x"))
    assert "street_key" in error["message"]


def test_a_prefix_of_no_type_is_refused_and_every_delivered_type_is_in_the_contracts() -> None:
    [error] = never_matching(["nl.wijkaanpak.zaken."], Filters())
    assert error["field"] == "types.0"
    # Intake's types are delivered, to a prefix that names them (domain.takes).
    assert never_matching(["nl.wijkaanpak.intake."], Filters()) == []
    assert set(DELIVERED_TYPES) <= set(EVENT_TYPES)
    assert len(DELIVERED_TYPES) == len(set(DELIVERED_TYPES))
