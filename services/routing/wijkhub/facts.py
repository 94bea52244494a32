"""What a wijkhub report says about the hub itself: only these keys, never anything else.

The hub mapping from the store may hold more (it must not, but a report is no place to find
out): the reports show and emit only `HUB_KEYS`. The contact person is never among them; only
the contact's role is.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.routing.wijkhub.dutch import NOTHING, as_datetime, span

HUB_KEYS = (
    "hub_id",
    "address",
    "streets",
    "city",
    "buurt_code",
    "starts_at",
    "ends_at",
    "status",
    "partners",
    "aims",
    "contact_role",
    "outcome_note",
)
STATUS = {
    "lopend": "lopend",
    "gesloten": "gesloten",
    "afgelopen": "afgelopen (de einddatum is voorbij)",
}


def public_hub(hub: Mapping[str, Any]) -> dict[str, Any]:
    """The hub's known keys, JSON-safe; whatever else the mapping holds stays out."""
    return {key: _json_safe(hub.get(key)) for key in HUB_KEYS}


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value


def hub_facts(hub: Mapping[str, Any], zone: ZoneInfo) -> list[tuple[str, str, str]]:
    """(key, Dutch label, text) for each fact about the hub that a report shows."""
    period = span(as_datetime(hub["starts_at"]), as_datetime(hub["ends_at"]), zone)
    facts = [
        ("address", "Adres", f"{hub['address']}, {hub['city']}"),
        ("streets", "Straten", "; ".join(hub["streets"]) or NOTHING),
        ("buurt_code", "Buurt", hub["buurt_code"] or NOTHING),
        ("period", "Periode", period),
        ("status", "Status", STATUS.get(hub["status"], hub["status"])),
        ("partners", "Partners", ", ".join(hub["partners"]) or NOTHING),
        ("aims", "Doelen", hub["aims"]),
        ("contact_role", "Aanspreekpunt (rol)", hub["contact_role"]),
    ]
    if hub.get("outcome_note"):
        facts.append(("outcome_note", "Uitkomst volgens het team", hub["outcome_note"]))
    return facts
