"""Signal data: formats, defaults, timestamps and street keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.signals import (
    Categorie,
    Location,
    Person,
    Severity,
    SignalData,
    categorie_of,
    signal_type,
    street_key,
)

GRONINGEN = {"street": "Asingastraat", "city": "Groningen"}


def _location(**fields: Any) -> Location:
    return Location.model_validate({**GRONINGEN, **fields})


def _error_types(exc: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [e["type"] for e in exc.value.errors()]


@pytest.mark.parametrize(
    ("given", "stored"),
    [("9714AB", "9714AB"), ("9714 ab", "9714AB"), (" 9714  Ab ", "9714AB"), ("1000aa", "1000AA")],
)
def test_postcode_is_normalised_to_four_digits_and_two_capitals(given: str, stored: str) -> None:
    assert _location(postcode=given).postcode == stored


@pytest.mark.parametrize("postcode", ["0714AB", "971AB", "9714A", "9714ABC", "ABCD12", "97144AB"])
def test_postcode_with_wrong_shape_is_rejected_with_example(postcode: str) -> None:
    with pytest.raises(ValidationError) as exc:
        _location(postcode=postcode)
    assert "9714AB" in exc.value.errors()[0]["msg"]


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("0014300000123456", True),
        ("0363300000000001", True),
        ("0014200000123456", False),  # "30" marks a public space; 20 is a verblijfsobject
        ("001430000012345", False),
        ("00143000001234567", False),
        ("0014300000I23456", False),
    ],
)
def test_openbareruimte_id_is_municipality_code_then_30_then_ten_digits(
    value: str, ok: bool
) -> None:
    if ok:
        assert _location(openbareruimte_id=value).openbareruimte_id == value
    else:
        with pytest.raises(ValidationError) as exc:
            _location(openbareruimte_id=value)
        assert _error_types(exc) == ["openbareruimte_id_format"]


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("BU00140107", True),
        ("BU0014abCD", True),
        ("bu00140107", False),
        ("BU0014010", False),
        ("BU001401070", False),
        ("WK001401", False),
    ],
)
def test_buurt_code_is_bu_and_eight_characters(value: str, ok: bool) -> None:
    if ok:
        assert _location(buurt_code=value).buurt_code == value
    else:
        with pytest.raises(ValidationError) as exc:
            _location(buurt_code=value)
        assert _error_types(exc) == ["buurt_code_format"]


@pytest.mark.parametrize("missing", ["street", "city"])
def test_location_needs_street_and_city(missing: str) -> None:
    fields = {k: v for k, v in GRONINGEN.items() if k != missing}
    with pytest.raises(ValidationError) as exc:
        Location.model_validate(fields)
    assert exc.value.errors()[0]["loc"] == (missing,)


def test_blank_street_counts_as_empty() -> None:
    with pytest.raises(ValidationError):
        _location(street="   ")


def test_severity_defaults_to_normaal() -> None:
    assert SignalData(location=_location()).severity is Severity.NORMAAL


@pytest.mark.parametrize(("length", "ok"), [(0, True), (2000, True), (2001, False)])
def test_description_is_at_most_2000_characters(length: int, ok: bool) -> None:
    data = {"location": GRONINGEN, "description": "x" * length}
    if ok:
        assert SignalData.model_validate(data).description == "x" * length
    else:
        with pytest.raises(ValidationError):
            SignalData.model_validate(data)


@pytest.mark.parametrize(
    "observed_at",
    [
        "2026-11-20T21:15:00+01:00",
        "2026-11-20T20:15:00Z",
        "2026-11-20T15:15:00-05:00",
        datetime(2026, 11, 20, 21, 15, tzinfo=timezone(timedelta(hours=1))),
    ],
)
def test_timestamps_with_any_offset_are_stored_in_utc(observed_at: object) -> None:
    data = SignalData.model_validate({"location": GRONINGEN, "observed_at": observed_at})
    assert data.observed_at == datetime(2026, 11, 20, 20, 15, tzinfo=UTC)
    assert data.observed_at is not None
    assert data.observed_at.tzinfo is UTC


@pytest.mark.parametrize("observed_at", ["2026-11-20T21:15:00", datetime(2026, 11, 20, 21, 15)])
def test_naive_timestamp_is_rejected_with_a_clear_message(observed_at: object) -> None:
    with pytest.raises(ValidationError) as exc:
        SignalData.model_validate({"location": GRONINGEN, "observed_at": observed_at})
    assert "must include a UTC offset" in exc.value.errors()[0]["msg"]


@pytest.mark.parametrize(
    ("fields", "ok"),
    [
        ({"name": "A. de Vries", "phone": "+31 50 123 4567"}, True),
        ({"name": "A. de Vries", "email": "a@example.nl"}, True),
        ({"name": "A. de Vries", "email": "a@example.nl", "arrears_cents": 125000}, True),
        ({"name": "A. de Vries"}, False),
        ({"name": "", "email": "a@example.nl"}, False),
        ({"name": "A. de Vries", "email": "not-an-address"}, False),
        ({"name": "A. de Vries", "phone": "call me"}, False),
        ({"name": "A. de Vries", "email": "a@example.nl", "arrears_cents": 0}, False),
    ],
)
def test_person_needs_name_and_a_phone_or_email(fields: dict[str, Any], ok: bool) -> None:
    if ok:
        Person.model_validate(fields)
    else:
        with pytest.raises(ValidationError):
            Person.model_validate(fields)


def test_street_key_uses_the_bag_id_when_given() -> None:
    location = _location(openbareruimte_id="0014300000123456")
    assert street_key(location) == "bag:0014300000123456"


@pytest.mark.parametrize(
    ("street", "city", "key"),
    [
        ("Asingastraat", "Groningen", "naam:groningen:asingastraat"),
        ("  asingastraat ", "GRONINGEN", "naam:groningen:asingastraat"),
        ("Burg. de  Vlugtlaan", "Amsterdam", "naam:amsterdam:burg-de-vlugtlaan"),
        ("Kerkstraße", "Zürich", "naam:zurich:kerkstrasse"),
        ("Rue Émile Zola", "Maastricht", "naam:maastricht:rue-emile-zola"),
        ("Korte Poten", "'s-Gravenhage", "naam:s-gravenhage:korte-poten"),
    ],
)
def test_street_key_from_names_ignores_case_spacing_and_accents(
    street: str, city: str, key: str
) -> None:
    assert street_key(Location(street=street, city=city)) == key


@pytest.mark.parametrize("categorie", list(Categorie))
def test_signal_type_and_categorie_of_are_inverse(categorie: Categorie) -> None:
    assert categorie_of(signal_type(categorie)) is categorie


@pytest.mark.parametrize(
    "event_type",
    ["nl.wijkaanpak.signaal.opgepakt", "nl.wijkaanpak.signaal.", "nl.other.overlast", "overlast"],
)
def test_categorie_of_other_types_is_none(event_type: str) -> None:
    assert categorie_of(event_type) is None
