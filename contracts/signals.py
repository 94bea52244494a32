"""Partner signal and feedback data: what goes in `data` of a partner's CloudEvent."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from contracts.fields import Note, SignalId, UtcDatetime, pattern_schema, patterned

SIGNAL_TYPE_PREFIX = "nl.wijkaanpak.signaal."
FEEDBACK_ACKNOWLEDGED_TYPE = "nl.wijkaanpak.signaal.opgepakt"
FEEDBACK_RESOLVED_TYPE = "nl.wijkaanpak.signaal.afgehandeld"

POSTCODE_PATTERN = r"^[1-9][0-9]{3}[A-Z]{2}$"
OPENBARERUIMTE_PATTERN = r"^[0-9]{4}30[0-9]{10}$"
BUURT_CODE_PATTERN = r"^BU[0-9A-Za-z]{8}$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PHONE_PATTERN = r"^(\+?[0-9]|\([0-9])[0-9 ()-]{5,24}$"


class Categorie(StrEnum):
    """The kind of neighbourhood problem a signal reports."""

    OVERLAST = "overlast"
    VERNIELING = "vernieling"
    VERVUILING = "vervuiling"
    HUURACHTERSTAND = "huurachterstand"
    ONDERMIJNING = "ondermijning"
    ZORG = "zorg"


class Severity(StrEnum):
    """How urgent the reporting partner thinks a signal is."""

    LAAG = "laag"
    NORMAAL = "normaal"
    HOOG = "hoog"


Outcome = Literal["opgelost", "doorverwezen", "geen-actie"]


def signal_type(categorie: Categorie) -> str:
    """The CloudEvents type of a signal of `categorie`."""
    return SIGNAL_TYPE_PREFIX + categorie.value


def categorie_of(event_type: str) -> Categorie | None:
    """The categorie a signal type names, or None when it is not a signal type."""
    if not event_type.startswith(SIGNAL_TYPE_PREFIX):
        return None
    try:
        return Categorie(event_type.removeprefix(SIGNAL_TYPE_PREFIX))
    except ValueError:
        return None


def _normalise_postcode(value: Any) -> Any:
    # Partners type "9714 ab" as often as "9714AB"; both mean the same postcode.
    if isinstance(value, str):
        return "".join(value.split()).upper()
    return value


Postcode = Annotated[
    str,
    BeforeValidator(_normalise_postcode),
    AfterValidator(
        patterned(
            POSTCODE_PATTERN,
            "postcode_format",
            "postcode must look like 9714AB (four digits, no leading zero, two letters)",
        )
    ),
    pattern_schema(POSTCODE_PATTERN, examples=["9714AB"]),
]
OpenbareRuimteId = Annotated[
    str,
    AfterValidator(
        patterned(
            OPENBARERUIMTE_PATTERN,
            "openbareruimte_id_format",
            "openbareruimte_id must be 16 digits: a 4-digit municipality code, then 30, "
            "then 10 digits (e.g. 0014300000123456)",
        )
    ),
    pattern_schema(OPENBARERUIMTE_PATTERN, examples=["0014300000123456"]),
]
BuurtCode = Annotated[
    str,
    AfterValidator(
        patterned(
            BUURT_CODE_PATTERN,
            "buurt_code_format",
            "buurt_code must be BU followed by 8 letters or digits (e.g. BU00140107)",
        )
    ),
    pattern_schema(BUURT_CODE_PATTERN, examples=["BU00140107"]),
]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254),
    AfterValidator(
        patterned(EMAIL_PATTERN, "email_format", "email must be an address like naam@example.nl")
    ),
    pattern_schema(EMAIL_PATTERN, maxLength=254),
]
Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=True),
    AfterValidator(
        patterned(
            PHONE_PATTERN,
            "phone_format",
            "phone must be 6 to 25 characters: digits, spaces, '-', '(' or ')', optionally "
            "starting with + (e.g. +31 50 123 4567 or (050) 123 4567)",
        )
    ),
    pattern_schema(PHONE_PATTERN),
]
PlaceName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Location(BaseModel):
    """Where a signal was observed; street and city are required."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    street: PlaceName
    house_number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] | None = (
        None
    )
    postcode: Postcode | None = None
    city: PlaceName
    openbareruimte_id: OpenbareRuimteId | None = None
    buurt_code: BuurtCode | None = None


class Person(BaseModel):
    """Personal data on a huurachterstand signal; intake seals it on arrival."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    phone: Phone | None = None
    email: Email | None = None
    arrears_cents: Annotated[int, Field(gt=0)] | None = None
    arrears_since: date | None = None

    @model_validator(mode="after")
    def _needs_contact(self) -> Person:
        if self.phone is None and self.email is None:
            raise PydanticCustomError(
                "person_contact", "person needs a phone or an email (at least one)"
            )
        return self


class SignalData(BaseModel):
    """The `data` of a `nl.wijkaanpak.signaal.<categorie>` event."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    observed_at: UtcDatetime | None = None
    location: Location
    severity: Severity = Severity.NORMAAL
    subcategory: Annotated[str, StringConstraints(max_length=100)] | None = None
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None
    person: Person | None = None


class AcknowledgedData(BaseModel):
    """The `data` of `nl.wijkaanpak.signaal.opgepakt`: a responder took a signal on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    signal_id: SignalId
    note: Note | None = None


class ResolvedData(BaseModel):
    """The `data` of `nl.wijkaanpak.signaal.afgehandeld`: a responder finished a signal."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    signal_id: SignalId
    outcome: Outcome
    note: Note | None = None


def _slug(text: str) -> str:
    ascii_text = (
        unicodedata.normalize("NFKD", text.casefold()).encode("ascii", "ignore").decode("ascii")
    )
    dashed = "-".join(ascii_text.split())
    kept = re.sub(r"[^a-z0-9-]", "", dashed)
    return re.sub(r"-{2,}", "-", kept).strip("-")


def street_key(location: Location) -> str:
    """A stable key per street: the BAG openbare-ruimte id, else normalised city and street."""
    if location.openbareruimte_id:
        return f"bag:{location.openbareruimte_id}"
    return f"naam:{_slug(location.city)}:{_slug(location.street)}"
