"""The dashboard's wijkhub forms: their fields into the API's requests, refusals into Dutch.

The pages take the same requests (`OpenRequest`, ...) and the same decisions as the JSON API;
only the way in (form fields) and the way out (a Dutch message on the page) differ.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from starlette.datastructures import FormData

from services.routing.web.wijkhubs import CloseRequest, DeclineRequest, ExtendRequest, OpenRequest
from services.routing.wijkhub.domain import DecisionRefused, PlanRefused

FORM = "routing-wijkhub-form"
"""The name the dashboard's wijkhub forms derive their anti-CSRF token from."""
REFUSALS = (PlanRefused, DecisionRefused, ValidationError, LookupError)
"""What a decision from a form may meet; each is shown on the page, never a 500 (an unknown
hub is a LookupError: KeyError here, routing's UnknownHub once that is in)."""
DEFAULT_WEEKS = 6
LABELS = {
    "address": "Adres",
    "starts_on": "Begindatum",
    "ends_on": "Einddatum",
    "partners": "Partners",
    "contact": "Aanspreekpunt",
    "name": "Naam aanspreekpunt",
    "role": "Rol aanspreekpunt",
    "phone": "Telefoon",
    "email": "E-mail",
    "aims": "Doelen",
    "reason": "Reden",
    "outcome_note": "Uitkomst",
    "street_keys": "Straat",
}
_VALIDATION = {
    "missing": "is verplicht",
    "string_too_short": "is verplicht",
    "string_too_long": "is te lang",
    "too_short": "kies er minstens één",
    "too_long": "te veel gekozen",
    "date_from_datetime_parsing": "is geen geldige datum",
    "date_parsing": "is geen geldige datum",
    "date_type": "is geen geldige datum",
    "string_pattern_mismatch": "heeft een ongeldige vorm",
}
_REFUSED = [
    (r"street_keys: no incidents known for '(.*)'", "Voor straat {0} zijn geen meldingen bekend."),
    (r"partners: '(.*)' is not a registered partner", "{0} is geen geregistreerde partner."),
    (r"name the street_keys or the buurt_code", "Noem de straten of de buurt van de wijkhub."),
    (r"buurt_code: no incidents known in '(.*)'", "In buurt {0} zijn geen meldingen bekend."),
    (r"starts_on: a wijkhub is not opened in the past",
     "Een wijkhub begint niet in het verleden: kies vandaag of later als begindatum."),
    (r"ends_on: must not be before starts_on", "De einddatum ligt vóór de begindatum."),
    (r"these streets already have a wijkhub then: (.*)",
     "Deze straat heeft in die periode al een wijkhub ({0})."),
    (r"this street has no advice awaiting a decision",
     "Voor deze straat wacht geen advies meer op een besluit."),
    (r"the wijkhub is already closed", "De wijkhub is al gesloten."),
    (r"the wijkhub is closed", "De wijkhub is gesloten."),
    (r"the wijkhub's period has ended", "De periode van de wijkhub is voorbij; open een nieuwe."),
    (r"the new end must be after the current end",
     "De nieuwe einddatum moet na de huidige einddatum liggen."),
]  # fmt: skip


def open_request(form: FormData) -> OpenRequest:
    """The 'Wijkhub openen' form as the API's request (raises ValidationError)."""
    contact = {"name": form.get("name", ""), "role": form.get("role", ""),
               "phone": form.get("phone") or None, "email": form.get("email") or None}  # fmt: skip
    return OpenRequest.model_validate(
        {
            "street_keys": [form.get("street_key", "")],
            "address": form.get("address", ""),
            "starts_on": form.get("starts_on", ""),
            "ends_on": form.get("ends_on", ""),
            "partners": form.getlist("partners"),
            "contact": contact,
            "aims": form.get("aims", ""),
        }
    )


def decline_request(form: FormData) -> DeclineRequest:
    """The 'Geen wijkhub' form as the API's request."""
    return DeclineRequest.model_validate({"reason": form.get("reason", "")})


def extend_request(form: FormData) -> ExtendRequest:
    """The 'Verlengen' form as the API's request."""
    return ExtendRequest.model_validate({"ends_on": form.get("ends_on", "")})


def close_request(form: FormData) -> CloseRequest:
    """The 'Sluiten' form as the API's request."""
    return CloseRequest.model_validate({"outcome_note": form.get("outcome_note", "")})


def status_of(refusal: Exception) -> int:
    """The page's status for a refusal: 400 for the input, 409 for the state, 404 unknown."""
    if isinstance(refusal, DecisionRefused):
        return 409
    return 404 if isinstance(refusal, LookupError) else 400


def messages(refusal: Exception) -> list[str]:
    """Every reason of a refusal, in Dutch, for the operator."""
    match refusal:
        case ValidationError():
            return [_invalid(e) for e in refusal.errors()]
        case PlanRefused():
            return [dutch(p) for p in refusal.problems]
        case DecisionRefused():
            return [dutch(str(refusal))]
        case _:
            return ["Deze wijkhub bestaat niet."]


def dutch(reason: str) -> str:
    """A refusal of the wijkhub's rules in Dutch (the English reason where none is known)."""
    for pattern, text in _REFUSED:
        if found := re.match(pattern, reason):
            return text.format(*found.groups())
    return reason


def _invalid(error: Mapping[str, Any]) -> str:
    field = next((str(p) for p in reversed(error["loc"]) if str(p) in LABELS), "")
    what = _VALIDATION.get(error["type"], "is ongeldig")
    return f"{LABELS.get(field, 'Invoer')} {what}."


def defaults(now: datetime, zone: ZoneInfo) -> dict[str, date]:
    """The open form's days: from today (in the municipality's zone) for six weeks."""
    today = now.astimezone(zone).date()
    return {"starts_on": today, "ends_on": today + timedelta(weeks=DEFAULT_WEEKS)}


def kept(form: FormData | None) -> dict[str, Any]:
    """The fields the operator filled in, to show again beside the reasons it was refused."""
    if form is None:
        return {}
    return {k: (form.getlist(k) if k == "partners" else form.get(k)) for k in form}
