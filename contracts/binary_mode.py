"""CloudEvents binary content mode: the attributes in headers, the data alone in the body.

Intake turns a binary-mode message into the structured event it stands for at the edge
(`to_structured`), so one path validates, de-duplicates and answers both modes; notify writes
binary-mode deliveries with `http_headers`. What a binary-mode Kafka record's signature covers
is `signed_bytes`, and a binary-mode webhook delivery's too (README.md, "Binary content mode").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote

from contracts.receipts import FieldError
from contracts.validation import load_json

HTTP_PREFIX = "ce-"
KAFKA_PREFIX = "ce_"
CONTENT_TYPE_HEADER = "content-type"
# Carried by the body and the content-type header in binary mode, never by a ce- header.
_NOT_HEADERS = frozenset({"data", "data_base64", "datacontenttype"})
# What the HTTP binding says a sender must percent-encode; the rest of printable ASCII is kept.
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_HTTP_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"%')


def is_binary(headers: Mapping[str, Any], prefix: str) -> bool:
    """Whether a message is in binary mode: it has a specversion header and is not structured."""
    names = {name.lower(): value for name, value in headers.items()}
    media = _text(names.get(CONTENT_TYPE_HEADER, "")).split(";", 1)[0].strip().lower()
    return f"{prefix}specversion" in names and not media.startswith("application/cloudevents")


def is_json_media(content_type: str | None) -> bool:
    """Whether data of this content type is JSON (absent means JSON, as in structured mode)."""
    if content_type is None:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def to_structured(
    headers: Mapping[str, str | bytes], body: bytes, prefix: str
) -> tuple[bytes, list[FieldError]]:
    """The structured JSON of the event a binary-mode message carries, and what is wrong with
    it before validation can judge it (then the bytes hold the attributes only, so a receipt
    can still name the event). HTTP header values are percent-decoded; Kafka's are UTF-8."""
    attributes, errors = _attributes(headers, prefix)
    event: dict[str, Any] = dict(attributes)
    content_type = event.get("datacontenttype")
    if not is_json_media(content_type):
        errors.append(
            FieldError(
                field="datacontenttype",
                message=f"datacontenttype must be application/json, not {content_type!r}",
            )
        )
    elif body.strip() and not errors:
        data, data_errors = load_json(body)
        errors += [e.model_copy(update={"field": e.field or "data"}) for e in data_errors]
        if not data_errors:
            event["data"] = data
    return _dump(event), errors


def _dump(value: Any) -> bytes:
    try:
        return _COMPACT.encode(value).encode()
    except UnicodeEncodeError:
        # A lone surrogate ("\ud800") has no UTF-8 form: keep it escaped, so the validator
        # refuses it at its field, as it does in a structured event.
        return json.dumps(value, separators=(",", ":")).encode()


def _attributes(
    headers: Mapping[str, str | bytes], prefix: str
) -> tuple[dict[str, str], list[FieldError]]:
    attributes: dict[str, str] = {}
    errors: list[FieldError] = []
    seen: set[str] = set()
    for header, raw in headers.items():
        name = header.lower()
        if name == CONTENT_TYPE_HEADER:
            attribute = "datacontenttype"
        elif name.startswith(prefix) and name[len(prefix) :] not in _NOT_HEADERS:
            attribute = name[len(prefix) :]
        elif name.startswith(prefix):
            errors.append(FieldError(field=header, message=_not_a_header(name[len(prefix) :])))
            continue
        else:
            continue  # not an attribute: e.g. Authorization, wijkbus-signature
        value = _value(raw, prefix)
        if attribute in seen:
            errors.append(FieldError(field=header, message=f"attribute {attribute} given twice"))
        elif value is None or "\n" in value or "\r" in value:
            message = "must be one line of UTF-8 text" + (
                " (percent-encoded)" if prefix == HTTP_PREFIX else ""
            )
            errors.append(FieldError(field=header, message=f"header {header} {message}"))
        else:
            attributes[attribute] = value
        seen.add(attribute)
    return attributes, errors


def _not_a_header(attribute: str) -> str:
    if attribute == "datacontenttype":
        return "in binary mode datacontenttype is the content-type header"
    return f"in binary mode {attribute} is the body, not a header"


def _value(raw: str | bytes, prefix: str) -> str | None:
    if prefix == HTTP_PREFIX:
        text = raw.decode("latin-1") if isinstance(raw, bytes) else raw
        try:
            return unquote(text, errors="strict")
        except UnicodeDecodeError:
            return None
    try:
        return raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        return None


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def signed_bytes(headers: Mapping[str, str | bytes], value: bytes, prefix: str) -> bytes:
    """What a binary-mode message's wijkbus-signature is the HMAC of: one `name:value\\n` line
    per `<prefix>*` and `content-type` header (name lower-cased, value as sent, UTF-8), sorted
    by name, then an empty line, then the value (the body)."""
    lines = sorted(
        (name.lower().encode(), raw.encode() if isinstance(raw, str) else raw)
        for name, raw in headers.items()
        if name.lower().startswith(prefix) or name.lower() == CONTENT_TYPE_HEADER
    )
    return b"".join(name + b":" + raw + b"\n" for name, raw in lines) + b"\n" + value


def http_headers(event: Mapping[str, Any]) -> tuple[dict[str, str], bytes]:
    """A structured event (as parsed JSON) as binary-mode HTTP: its `ce-*` and Content-Type
    headers and the body (the data as JSON)."""
    headers = {"Content-Type": str(event.get("datacontenttype") or "application/json")}
    for name, value in event.items():
        if name in _NOT_HEADERS or value is None:
            continue
        text = value if isinstance(value, str) else json.dumps(value)
        headers[f"ce-{name}"] = quote(text, safe=_HTTP_SAFE)
    data = event.get("data")
    body = b"" if data is None else _dump(data)
    return headers, body
