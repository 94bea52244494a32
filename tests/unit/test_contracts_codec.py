"""The codec: one-pass typed decode, and encode writing the bytes the old builders wrote."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from contracts.codec import Envelope, decoder, encode, envelope_of
from contracts.envelope import CONTENT_TYPE, CloudEvent, new_event, parse_event, to_json_bytes
from contracts.events import EVENT_TYPES, SIGNAL_ACCEPTED_TYPE, FeedbackReceived, SignalAccepted
from tests.unit.test_contracts_events import AT, SAMPLES, SOURCE
from wijkbus.outbox import event_message

CET = timezone(timedelta(hours=1))
TRICKY = 'Straße "de Poort" \\ 😀 \x01\n\t\u2028/é'


def old_bytes(event: CloudEvent) -> bytes:
    """What to_json_bytes wrote before the codec: json.dumps of model_dump, absent left out."""
    body = {k: v for k, v in event.model_dump(mode="json").items() if v is not None}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sample(event_type: str, **changes: Any) -> BaseModel:
    """The contract tests' sample data of `event_type` as its model."""
    return EVENT_TYPES[event_type].model_validate({**SAMPLES[event_type], **changes})


def signal_bytes(envelope: dict[str, Any] | None = None, **data: Any) -> bytes:
    """A valid signals.accepted record with `envelope` attributes and `data` fields changed."""
    raw = encode(SIGNAL_ACCEPTED_TYPE, SOURCE, sample(SIGNAL_ACCEPTED_TYPE), id="e-1", time=AT)
    body = json.loads(raw)
    body.update(envelope or {})
    body["data"].update(data)
    return json.dumps(body).encode()


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_encode_writes_the_bytes_the_old_builders_wrote(event_type: str) -> None:
    data = sample(event_type)
    old = new_event(event_type, SOURCE, data, id="e-1", subject="sig-1", time=AT)
    new = encode(event_type, SOURCE, data, id="e-1", subject="sig-1", time=AT)
    assert new == old_bytes(old)
    assert new == to_json_bytes(old)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"subject": TRICKY, "dataref": "/api/v1/signals/sig-1/person"},
        {"extensions": {"traceparent": "00-ab-cd-01", "hop": 3, "replayed": False}},
        {"extensions": {"traceparent": None}},
    ],
)
def test_encode_matches_the_old_path_with_and_without_optional_attributes(
    options: dict[str, Any],
) -> None:
    data = sample(SIGNAL_ACCEPTED_TYPE, street=TRICKY, subcategory=None)
    at = datetime(2026, 11, 20, 21, 30, 0, 123456, tzinfo=CET)
    old = new_event(SIGNAL_ACCEPTED_TYPE, TRICKY, data, id=TRICKY, time=at, **options)
    new = encode(SIGNAL_ACCEPTED_TYPE, TRICKY, data, id=TRICKY, time=at, **options)
    assert new == old_bytes(old)
    assert b'"time":"2026-11-20T20:30:00.123456Z"' in new


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_every_event_type_round_trips_through_the_typed_decoder(event_type: str) -> None:
    model = EVENT_TYPES[event_type]
    data = sample(event_type)
    raw = encode(event_type, SOURCE, data, id="e-1", subject="sig-1", time=AT)

    event = decoder(model)(raw)

    assert isinstance(event, CloudEvent)
    assert type(event.data) is model
    assert event.data == data
    assert (event.id, event.source, event.type, event.subject, event.time) == (
        "e-1",
        SOURCE,
        event_type,
        "sig-1",
        AT,
    )
    assert to_json_bytes(event) == raw
    assert envelope_of(raw).data == parse_event(raw).data == json.loads(raw)["data"]


def test_decoder_is_cached_per_model() -> None:
    assert decoder(SignalAccepted) is decoder(SignalAccepted)
    assert decoder(SignalAccepted) is not decoder(FeedbackReceived)


def test_decoded_timestamps_are_utc_in_the_envelope_and_in_data() -> None:
    raw = signal_bytes(
        {"time": "2026-11-20T21:30:00+01:00"}, observed_at="2026-11-20T21:15:00+01:00"
    )
    event = decoder(SignalAccepted)(raw)
    assert event.time == AT and event.time.tzinfo is UTC
    assert event.data.observed_at.tzinfo is UTC
    assert event.data.observed_at == datetime(2026, 11, 20, 20, 15, tzinfo=UTC)


def test_extension_attributes_are_kept_as_extras() -> None:
    data = sample(SIGNAL_ACCEPTED_TYPE)
    raw = encode(
        SIGNAL_ACCEPTED_TYPE, SOURCE, data, id="e-1", time=AT, extensions={"traceparent": "00-ab"}
    )
    assert decoder(SignalAccepted)(raw).model_extra == {"traceparent": "00-ab"}
    assert envelope_of(raw).model_extra == {"traceparent": "00-ab"}


def test_untyped_envelope_allows_absent_data_like_cloudevent() -> None:
    raw = b'{"specversion":"1.0","id":"1","source":"s","type":"t"}'
    assert envelope_of(raw).data is None
    assert isinstance(envelope_of(raw), Envelope)


def errors(raw: bytes, model: type[BaseModel] = SignalAccepted) -> list[tuple[Any, str]]:
    """(loc, type) of every error the typed decoder reports for `raw`."""
    with pytest.raises(ValidationError) as caught:
        decoder(model)(raw)
    return [(e["loc"], e["type"]) for e in caught.value.errors()]


def test_errors_inside_data_are_located_in_data() -> None:
    raw = signal_bytes(
        categorie="feest", observed_at="2026-11-20T21:15:00", partner_id="Bad ID", extra=1
    )
    assert sorted(errors(raw), key=str) == sorted(
        [
            (("data", "categorie"), "enum"),
            (("data", "observed_at"), "timestamp_naive"),
            (("data", "partner_id"), "partner_id_format"),
            (("data", "extra"), "extra_forbidden"),
        ],
        key=str,
    )


def test_a_typed_envelope_without_data_is_an_error_at_data() -> None:
    assert errors(b'{"specversion":"1.0","id":"1","source":"s","type":"t"}') == [
        (("data",), "missing")
    ]


def test_data_that_is_not_an_object_is_an_error_at_data() -> None:
    raw = b'{"specversion":"1.0","id":"1","source":"s","type":"t","data":[1]}'
    assert errors(raw) == [(("data",), "model_type")]


def test_bytes_that_are_not_json_are_a_validation_error() -> None:
    assert errors(b'{"specversion":') == [((), "json_invalid")]


BAD_ENVELOPES = [
    b'{"specversion":"0.3","id":"1","source":"s","type":"t","data":{}}',
    b'{"specversion":"1.0","id":"","source":"","type":"t","data":{}}',
    b'{"specversion":"1.0","id":"' + b"x" * 257 + b'","source":"s","type":"t"}',
    b'{"specversion":"1.0","source":"s","data":{}}',
    b'{"specversion":"1.0","id":"1","source":"s","type":"t","time":"2026-11-20T21:15:00"}',
    b'{"specversion":"1.0","id":"1","source":"s","type":"t","time":"gisteren"}',
    b'{"specversion":"1.0","id":"1","source":"s","type":"t","traceParent":"x","trace_id":"y"}',
    b'{"specversion":"1.0","id":"1","source":"s","type":"t","hops":{"a":1}}',
    b"[]",
]


@pytest.mark.parametrize("raw", BAD_ENVELOPES)
def test_the_envelope_is_checked_exactly_as_cloudevent_checks_it(raw: bytes) -> None:
    with pytest.raises(ValidationError) as old:
        parse_event(raw)
    with pytest.raises(ValidationError) as new:
        envelope_of(raw)

    def what(exc: ValidationError) -> list[tuple[Any, str, str]]:
        return [(e["loc"], e["type"], e["msg"]) for e in exc.errors()]

    assert what(new.value) == what(old.value)


def test_extension_errors_name_the_offending_attributes() -> None:
    raw = signal_bytes({"traceParent": "x", "trace_id": "y"})
    with pytest.raises(ValidationError, match="traceParent, trace_id") as caught:
        decoder(SignalAccepted)(raw)
    assert [e["type"] for e in caught.value.errors()] == ["extension_name"]
    with pytest.raises(ValidationError, match="string, integer or boolean: hops"):
        decoder(SignalAccepted)(signal_bytes({"hops": {"a": 1}}))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": ""}, "id must be 1 to 256"),
        ({"id": "x" * 257}, "id must be 1 to 256"),
        ({"source": ""}, "must not be empty"),
        ({"time": datetime(2026, 11, 20, 21, 30)}, "UTC offset"),
        ({"extensions": {"traceParent": "x"}}, "'traceParent' is not allowed"),
        ({"extensions": {"hops": {"a": 1}}}, "string, integer or boolean: hops"),
        ({"extensions": {"subject": "x"}}, "may not reuse CloudEvents attributes"),
    ],
)
def test_encode_refuses_what_a_cloudevent_would_refuse(
    changes: dict[str, Any], message: str
) -> None:
    arguments: dict[str, Any] = {"source": SOURCE, "id": "e-1", "time": AT, **changes}
    source = arguments.pop("source")
    with pytest.raises(ValueError, match=message):
        encode(SIGNAL_ACCEPTED_TYPE, source, sample(SIGNAL_ACCEPTED_TYPE), **arguments)


def test_event_message_carries_the_encoded_event_under_its_key() -> None:
    data = sample(SIGNAL_ACCEPTED_TYPE)
    message = event_message(
        "signals.accepted", "naam:groningen:asingastraat", SIGNAL_ACCEPTED_TYPE, SOURCE, data,
        id="e-1", subject="sig-1", time=AT,
    )  # fmt: skip
    assert message.value == encode(
        SIGNAL_ACCEPTED_TYPE, SOURCE, data, id="e-1", subject="sig-1", time=AT
    )
    assert (message.topic, message.key) == ("signals.accepted", "naam:groningen:asingastraat")
    assert message.headers == (("content-type", CONTENT_TYPE),)


def test_to_json_bytes_of_a_parsed_event_writes_what_it_wrote_before() -> None:
    data = {"a": None, "b": [1, True, {"c": TRICKY}], "n": 2**70, "x": 0.25, "é": ""}
    raw = json.dumps({"specversion": "1.0", "id": "1", "source": "s", "type": "t", "data": data})
    event = parse_event(raw.encode())
    assert to_json_bytes(event) == old_bytes(event)
    assert to_json_bytes(envelope_of(raw.encode())) == old_bytes(event)
