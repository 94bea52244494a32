"""CloudEvents binary content mode at the edge: headers and data to the structured event, the
signed bytes, and notify's binary form read back by the `cloudevents` SDK."""

from __future__ import annotations

import json

from cloudevents.core.bindings import http as ce_http
from cloudevents.core.formats.json import JSONFormat

from contracts import binary_mode
from contracts.validation import ValidatedEvent, validate_partner_event

SOURCE = "urn:nld:kvknr:12345678:systeem:huurbeheer"
DATA = b'{"location":{"street":"Asingastraat","city":"Groningen"}}'
KAFKA = {
    "ce_specversion": b"1.0",
    "ce_id": b"HB-2",
    "ce_source": SOURCE.encode(),
    "ce_type": b"nl.wijkaanpak.signaal.overlast",
    "content-type": b"application/json",
}


def test_a_binary_record_becomes_the_structured_event_it_carries() -> None:
    raw, errors = binary_mode.to_structured(KAFKA, DATA, binary_mode.KAFKA_PREFIX)
    assert errors == []
    assert json.loads(raw) == {
        "specversion": "1.0",
        "id": "HB-2",
        "source": SOURCE,
        "type": "nl.wijkaanpak.signaal.overlast",
        "datacontenttype": "application/json",
        "data": json.loads(DATA),
    }
    assert isinstance(validate_partner_event(raw), ValidatedEvent)


def test_http_header_values_are_percent_decoded() -> None:
    headers = {"ce-specversion": "1.0", "ce-id": "x", "ce-subject": "melding%20%C3%A9%25"}
    raw, errors = binary_mode.to_structured(headers, b"", binary_mode.HTTP_PREFIX)
    assert errors == [] and json.loads(raw)["subject"] == "melding é%"


def test_what_only_binary_mode_can_get_wrong_is_named_at_its_header() -> None:
    cases = {
        "ce_data": ({**KAFKA, "ce_data": b"{}"}, DATA),
        "ce_id": ({**KAFKA, "ce_id": b"HB\n2"}, DATA),
        "CE_ID": ({**KAFKA, "CE_ID": b"HB-3"}, DATA),
        "datacontenttype": ({**KAFKA, "content-type": b"text/plain"}, b"hallo"),
        "data": (KAFKA, b"{not json"),
    }
    for field, (headers, body) in cases.items():
        _, errors = binary_mode.to_structured(headers, body, binary_mode.KAFKA_PREFIX)
        assert [e.field for e in errors] == [field], field


def test_the_signed_bytes_are_the_sorted_attribute_lines_an_empty_line_and_the_value() -> None:
    headers = {**KAFKA, "traceparent": b"00-x", "CE_Subject": b"s"}
    assert binary_mode.signed_bytes(headers, DATA, binary_mode.KAFKA_PREFIX) == (
        b"ce_id:HB-2\nce_source:" + SOURCE.encode() + b"\nce_specversion:1.0\nce_subject:s\n"
        b"ce_type:nl.wijkaanpak.signaal.overlast\ncontent-type:application/json\n\n" + DATA
    )


def test_notifys_binary_form_reads_back_as_the_same_event_with_the_sdk() -> None:
    event = {
        "specversion": "1.0",
        "id": "e1",
        "source": "urn:nld:wijkbus:routing",
        "type": "nl.wijkaanpak.routing.assigned",
        "time": "2026-11-20T20:30:00Z",
        "datacontenttype": "application/json",
        "subject": "sig 1/é",
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "data": {"signal_id": "sig 1/é", "n": 3},
    }
    headers, body = binary_mode.http_headers(event)
    assert all(value.isascii() for value in headers.values())
    read = ce_http.from_http(ce_http.HTTPMessage(headers, body), JSONFormat())
    assert read.get_subject() == "sig 1/é"
    assert read.get_extension("traceparent") == event["traceparent"]
    assert read.get_data() == event["data"]
    back, errors = binary_mode.to_structured(headers, body, binary_mode.HTTP_PREFIX)
    assert errors == [] and json.loads(back) == event
