"""Whatever a partner sends, the validator answers with an event or errors: it never raises."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.receipts import FieldError
from contracts.validation import ValidatedEvent, validate_partner_event

SOURCE = "urn:nld:kvknr:12345678:systeem:huurbeheer"
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
categories = st.sampled_from(
    ["overlast", "vernieling", "vervuiling", "huurachterstand", "ondermijning", "zorg", "x"]
)


def _well_formed_then_mutated(draw: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "specversion": draw(st.sampled_from(["1.0", "0.3", 1])),
        "id": draw(st.text(min_size=0, max_size=300)),
        "source": draw(st.sampled_from([SOURCE, "", "urn:x"])),
        "type": "nl.wijkaanpak.signaal." + draw(categories),
        "data": {
            "location": {
                "street": draw(st.text(max_size=40)),
                "city": draw(st.text(max_size=40)),
                "postcode": draw(st.text(max_size=10)),
                "openbareruimte_id": draw(st.from_regex(r"[0-9]{14,17}", fullmatch=True)),
                "buurt_code": draw(st.text(max_size=12)),
            },
            "severity": draw(st.sampled_from(["laag", "normaal", "hoog", "?"])),
            "observed_at": draw(
                st.sampled_from(
                    ["2026-11-20T21:15:00+01:00", "2026-11-20T21:15:00", "gisteren", None]
                )
            ),
            "description": draw(st.text(max_size=50)),
            "person": draw(
                st.none()
                | st.fixed_dictionaries(
                    {"name": st.text(max_size=20)},
                    optional={
                        "phone": st.text(max_size=20),
                        "email": st.text(max_size=30),
                        "arrears_cents": st.integers(),
                    },
                )
            ),
        },
    }
    for key in draw(
        st.lists(st.sampled_from(["id", "source", "type", "data", "specversion"]), max_size=2)
    ):
        event.pop(key, None)
    extra = draw(st.dictionaries(st.text(max_size=10), json_values, max_size=2))
    return {**event, **extra}


def _check(raw: bytes) -> None:
    result = validate_partner_event(raw)
    if isinstance(result, ValidatedEvent):
        assert result.event.type.startswith("nl.wijkaanpak.signaal.")
        # Whatever is accepted can be stored: PostgreSQL text holds no NUL character.
        assert "\x00" not in json.dumps(json.loads(raw), ensure_ascii=False)
    else:
        assert result and all(isinstance(e, FieldError) and e.message for e in result)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_signals_give_an_event_or_errors(data: st.DataObject) -> None:
    _check(
        json.dumps(
            data.draw(st.builds(lambda: None)) or _well_formed_then_mutated(data.draw),
            ensure_ascii=False,
        ).encode()
    )


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_gives_an_event_or_errors(value: Any) -> None:
    _check(json.dumps(value).encode())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_give_an_event_or_errors(raw: bytes) -> None:
    _check(raw)


def test_nul_anywhere_is_refused_with_its_path() -> None:
    event = {
        "specversion": "1.0",
        "id": "a\x00b",
        "source": SOURCE,
        "type": "nl.wijkaanpak.signaal.overlast",
        "data": {"location": {"street": "Korreweg", "city": "Groningen"}},
    }
    [error] = validate_partner_event(json.dumps(event).encode())  # type: ignore[misc]
    assert error.field == "id" and "NUL" in error.message
    event["id"], event["data"]["location"]["street"] = "ok", "Korre\x00weg"
    [error] = validate_partner_event(json.dumps(event).encode())  # type: ignore[misc]
    assert error.field == "data.location.street"
