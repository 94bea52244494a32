"""validate_partner_event: every error at once, dotted paths, and never an exception."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contracts.envelope import MAX_EVENT_BYTES
from contracts.receipts import FieldError
from contracts.signals import AcknowledgedData, Categorie, ResolvedData
from contracts.validation import (
    ValidatedEvent,
    canonical_body_hash,
    validate_event_object,
    validate_partner_event,
)

PERSON = {"name": "A. de Vries", "email": "a.devries@example.nl", "arrears_cents": 125000}


def _event(categorie: str = "overlast", **overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": "HB-2026-000123",
        "source": "urn:nld:kvknr:12345678:systeem:huurbeheer",
        "type": f"nl.wijkaanpak.signaal.{categorie}",
        "time": "2026-11-20T21:30:00+01:00",
        "datacontenttype": "application/json",
        "data": {
            "observed_at": "2026-11-20T21:15:00+01:00",
            "location": {"street": "Asingastraat", "postcode": "9714 ab", "city": "Groningen"},
            "severity": "hoog",
            "subcategory": "geluid",
            "description": "Harde muziek na middernacht",
            "person": PERSON if categorie == "huurachterstand" else None,
        },
    }
    event.update(overrides)
    return event


def _raw(event: Any) -> bytes:
    return json.dumps(event).encode()


def _errors(raw: bytes) -> list[FieldError]:
    result = validate_partner_event(raw)
    assert isinstance(result, list), f"expected errors, got {result!r}"
    assert all(isinstance(e, FieldError) for e in result)
    return result


def _fields(raw: bytes) -> list[str]:
    return [e.field for e in _errors(raw)]


def test_valid_signal_is_parsed_into_signal_data() -> None:
    result = validate_partner_event(_raw(_event()))
    assert isinstance(result, ValidatedEvent)
    assert result.kind == "signal"
    assert result.categorie is Categorie.OVERLAST
    assert result.signal is not None
    assert result.signal.location.postcode == "9714AB"
    assert result.feedback is None
    assert result.body_hash == canonical_body_hash(_event())


@pytest.mark.parametrize(
    ("event_type", "data", "model"),
    [
        ("nl.wijkaanpak.signaal.opgepakt", {"signal_id": "sig-1"}, AcknowledgedData),
        (
            "nl.wijkaanpak.signaal.afgehandeld",
            {"signal_id": "sig-1", "outcome": "doorverwezen", "note": "naar welzijn"},
            ResolvedData,
        ),
    ],
)
def test_valid_feedback_is_parsed_into_its_model(
    event_type: str, data: dict[str, Any], model: type
) -> None:
    result = validate_partner_event(_raw(_event(type=event_type, data=data)))
    assert isinstance(result, ValidatedEvent)
    assert result.kind == "feedback"
    assert isinstance(result.feedback, model)
    assert result.signal is None
    assert result.categorie is None


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"\xff\xfe{}", "not valid UTF-8"),
        (b'\xef\xbb\xbf{"id": "a"}', "Unexpected UTF-8 BOM"),
        (b'{"specversion": "1.0",', "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b'[{"specversion": "1.0"}]', "not an array"),
        (b'"hello"', "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b"", "empty"),
        (b'{"id": NaN}', "NaN"),
        (b'{"id": "a", "id": "b"}', "duplicate key 'id'"),
        (b"[" * 50_000, "not valid JSON"),
        (b" " * (MAX_EVENT_BYTES + 1), "at most 65536"),
    ],
)
def test_unreadable_body_gives_one_error_on_the_whole_body(raw: bytes, fragment: str) -> None:
    errors = _errors(raw)
    assert [e.field for e in errors] == [""]
    assert fragment in errors[0].message


@pytest.mark.parametrize("missing", ["specversion", "id", "source", "type"])
def test_missing_required_envelope_field_is_named(missing: str) -> None:
    event = _event()
    del event[missing]
    errors = _errors(_raw(event))
    assert FieldError(field=missing, message=f"{missing} is required") in errors


def test_missing_envelope_fields_are_all_reported_together() -> None:
    assert _fields(b'{"specversion": "1.0"}') == ["id", "source", "type"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"specversion": "0.3"}, "specversion"),
        ({"id": ""}, "id"),
        ({"id": "x" * 257}, "id"),
        ({"id": 123}, "id"),
        ({"source": ""}, "source"),
        ({"time": "yesterday"}, "time"),
        ({"time": "2026-11-20T21:30:00"}, "time"),
        ({"datacontenttype": "text/xml"}, "datacontenttype"),
        ({"type": "nl.wijkaanpak.signaal.graffiti"}, "type"),
        ({"Partition_Key": "x"}, "Partition_Key"),
        ({"traceparent": {"nested": True}}, "traceparent"),
        ({"data_base64": "aGk="}, "data_base64"),
        ({"data": None}, "data"),
        ({"data": "text"}, "data"),
    ],
)
def test_bad_envelope_value_is_reported_on_its_field(overrides: dict[str, Any], field: str) -> None:
    assert _fields(_raw(_event(**overrides))) == [field]


def test_lower_case_extension_attributes_are_kept() -> None:
    result = validate_partner_event(_raw(_event(partitionkey="case-1", traceparent="00-ab")))
    assert isinstance(result, ValidatedEvent)
    assert result.event.model_extra == {"partitionkey": "case-1", "traceparent": "00-ab"}


def test_all_data_errors_are_collected_with_dotted_paths() -> None:
    event = _event()
    event["data"] = {
        "observed_at": "2026-11-20T21:15:00",
        "location": {"street": "", "postcode": "0714AB", "buurt_code": "XX"},
        "severity": "dringend",
        "description": "x" * 2001,
        "colour": "red",
    }
    errors = _errors(_raw(event))
    assert {e.field for e in errors} == {
        "data.observed_at",
        "data.location.street",
        "data.location.city",
        "data.location.postcode",
        "data.location.buurt_code",
        "data.severity",
        "data.description",
        "data.colour",
    }
    by_field = {e.field: e.message for e in errors}
    assert by_field["data.location.postcode"] == (
        "postcode must look like 9714AB (four digits, no leading zero, two letters)"
    )
    assert by_field["data.severity"] == "severity must be one of 'laag', 'normaal' or 'hoog'"
    assert by_field["data.location.city"] == "city is required"


def test_envelope_and_data_errors_are_reported_together() -> None:
    event = _event(specversion="2.0")
    event["data"]["location"]["postcode"] = "0714AB"
    assert _fields(_raw(event)) == ["specversion", "data.location.postcode"]


def test_messages_are_plain_english_without_pydantic_codes() -> None:
    event = _event("huurachterstand")
    event["data"]["person"] = {"name": "X", "email": "nope", "arrears_cents": -5}
    for error in _errors(_raw(event)):
        assert "Input should" not in error.message
        assert "Value error" not in error.message
    fields = _fields(_raw(event))
    assert fields == ["data.person.email", "data.person.arrears_cents"]


def test_person_is_required_for_huurachterstand() -> None:
    event = _event("huurachterstand")
    event["data"]["person"] = None
    errors = _errors(_raw(event))
    assert [e.field for e in errors] == ["data.person"]
    assert "required for huurachterstand" in errors[0].message


@pytest.mark.parametrize("categorie", [c.value for c in Categorie if c != "huurachterstand"])
def test_person_is_forbidden_outside_huurachterstand(categorie: str) -> None:
    event = _event(categorie)
    event["data"]["person"] = PERSON
    errors = _errors(_raw(event))
    assert [e.field for e in errors] == ["data.person"]
    assert categorie in errors[0].message


def test_huurachterstand_with_person_is_valid() -> None:
    result = validate_partner_event(_raw(_event("huurachterstand")))
    assert isinstance(result, ValidatedEvent)
    assert result.signal is not None
    assert result.signal.person is not None
    assert result.signal.person.arrears_cents == 125000


def test_person_without_contact_is_reported_on_the_person() -> None:
    event = _event("huurachterstand")
    event["data"]["person"] = {"name": "A. de Vries"}
    errors = _errors(_raw(event))
    assert errors == [
        FieldError(field="data.person", message="person needs a phone or an email (at least one)")
    ]


def test_feedback_with_unknown_outcome_names_the_allowed_ones() -> None:
    event = _event(
        type="nl.wijkaanpak.signaal.afgehandeld", data={"signal_id": "s", "outcome": "klaar"}
    )
    errors = _errors(_raw(event))
    assert errors == [
        FieldError(
            field="data.outcome",
            message="outcome must be one of 'opgelost', 'doorverwezen' or 'geen-actie'",
        )
    ]


@pytest.mark.parametrize("value", ["not bytes", None, 42, [1, 2], {"a": 1}])
def test_validator_never_raises_on_wrong_input(value: Any) -> None:
    assert isinstance(validate_partner_event(value), list)
    assert isinstance(validate_event_object(value), list)


def test_canonical_hash_ignores_key_order_and_whitespace() -> None:
    a = json.loads('{"b": 1, "a": {"y": "é", "x": [1, 2]}}')
    b = json.loads('{"a":{"x":[1,2],"y":"é"},"b":1}')
    assert canonical_body_hash(a) == canonical_body_hash(b)
    assert len(canonical_body_hash(a)) == 64


def test_canonical_hash_tells_a_changed_body_apart() -> None:
    changed = _event()
    changed["data"]["severity"] = "laag"
    assert canonical_body_hash(_event()) != canonical_body_hash(changed)


@pytest.mark.parametrize("attribute", ["type", "datacontenttype"])
def test_a_refusal_does_not_quote_what_the_partner_typed_in_type_or_datacontenttype(
    attribute: str,
) -> None:
    """The reason is stored and shown to operators: a name typed into the wrong attribute must
    not reach them through it."""
    canary = "Canarie Jansen-de Vries"
    errors = validate_partner_event(json.dumps(_event(**{attribute: canary})).encode())
    assert isinstance(errors, list)
    assert [e.field for e in errors] == [attribute]
    assert all(canary not in e.message and "Canarie" not in e.message for e in errors)
