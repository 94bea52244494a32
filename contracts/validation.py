"""The partner-event validator: raw bytes in, a validated event or every error out."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from contracts.envelope import (
    MAX_EVENT_BYTES,
    CloudEvent,
    extension_name_message,
    invalid_extension_names,
    invalid_extension_values,
)
from contracts.errors import field_errors
from contracts.receipts import FieldError
from contracts.signals import (
    FEEDBACK_ACKNOWLEDGED_TYPE,
    FEEDBACK_RESOLVED_TYPE,
    SIGNAL_TYPE_PREFIX,
    AcknowledgedData,
    Categorie,
    ResolvedData,
    SignalData,
    categorie_of,
)


class _SignalEvent(CloudEvent):
    """A signal event: envelope and data validated in one pass."""

    data: SignalData


class _AcknowledgedEvent(CloudEvent):
    """An acknowledgement: envelope and data validated in one pass."""

    data: AcknowledgedData


class _ResolvedEvent(CloudEvent):
    """A resolution: envelope and data validated in one pass."""

    data: ResolvedData


_FEEDBACK_MODELS: dict[str, type[CloudEvent]] = {
    FEEDBACK_ACKNOWLEDGED_TYPE: _AcknowledgedEvent,
    FEEDBACK_RESOLVED_TYPE: _ResolvedEvent,
}
_ENVELOPE_FIELDS = frozenset(CloudEvent.model_fields)
_KNOWN_TYPES = ", ".join([SIGNAL_TYPE_PREFIX + "<categorie>", *_FEEDBACK_MODELS])
_CATEGORIES = ", ".join(c.value for c in Categorie)
_PERSON_CATEGORIE = Categorie.HUURACHTERSTAND
# Reported per attribute above; the envelope model can only report them all at the root.
_EXTENSION_ERRORS = frozenset({"extension_name", "extension_value"})


@dataclass(frozen=True, slots=True)
class ValidatedEvent:
    """A partner event that passed validation, with its data parsed into a model."""

    event: CloudEvent
    kind: Literal["signal", "feedback"]
    categorie: Categorie | None
    signal: SignalData | None
    feedback: AcknowledgedData | ResolvedData | None
    body_hash: str


def canonical_body_hash(raw_event: dict[str, Any]) -> str:
    """sha256 hex of the event's canonical JSON, to tell a duplicate from a conflict."""
    canonical = _CANONICAL.encode(raw_event)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # With duplicate keys, two JSON parsers may see two different events; refuse the ambiguity.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r} in a JSON object")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# Built once: json.loads and json.dumps with options build a new decoder or encoder every call.
_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant)
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def load_json(raw: bytes) -> tuple[Any, list[FieldError]]:
    """Decode UTF-8 JSON; returns (value, []) or (None, errors) and never raises."""
    if len(raw) > MAX_EVENT_BYTES:
        return None, [
            _body_error(f"body is {len(raw)} bytes; at most {MAX_EVENT_BYTES} (64 KiB) are allowed")
        ]
    if not raw.strip():
        return None, [_body_error("body is empty; expected a CloudEvent as a JSON object")]
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.start + 1].hex()
        return None, [
            _body_error(
                f"body is not valid UTF-8: {exc.reason} (byte 0x{bad} at offset {exc.start})"
            )
        ]
    try:
        if text.startswith("\ufeff"):  # what json.loads says, which the bare decoder does not
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        return None, [_body_error(f"body is not valid JSON: {exc}")]
    except (ValueError, RecursionError) as exc:
        return None, [_body_error(f"body is not valid JSON: {exc or 'nested too deeply'}")]
    if "\\u0000" in text and (where := _nul_path(value, ())) is not None:
        # PostgreSQL text cannot hold NUL, and no partner means one: refuse it precisely.
        return None, [FieldError(field=where, message="text must not contain NUL (\\u0000)")]
    return value, []


def _nul_path(value: Any, path: tuple[str, ...]) -> str | None:
    """The dotted path of the first string (or object key) holding a NUL character, if any."""
    if isinstance(value, str):
        return ".".join(path) if "\x00" in value else None
    items: Any = ()
    if isinstance(value, dict):
        for key in value:
            if "\x00" in key:
                return ".".join((*path, key.replace("\x00", "\\u0000")))
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    for key, item in items:
        if (found := _nul_path(item, (*path, str(key)))) is not None:
            return found
    return None


def _body_error(message: str) -> FieldError:
    return FieldError(field="", message=message)


def _internal_error(exc: Exception) -> FieldError:
    return _body_error(f"event could not be validated (internal error: {type(exc).__name__})")


def validate_partner_event(raw: bytes) -> ValidatedEvent | list[FieldError]:
    """Validate one partner event from its raw bytes; returns every error found, never raises."""
    try:
        value, errors = load_json(raw)
    except Exception as exc:  # e.g. a str passed in by mistake; see validate_event_object
        return [_internal_error(exc)]
    if errors:
        return errors
    return validate_event_object(value)


def validate_event_object(value: Any) -> ValidatedEvent | list[FieldError]:
    """Validate one already-parsed partner event (e.g. from a batch); never raises."""
    try:
        return _validate(value)
    except Exception as exc:  # a bug here must become a rejection, not a stuck consumer
        return [_internal_error(exc)]


def _validate(value: Any) -> ValidatedEvent | list[FieldError]:
    if not isinstance(value, dict):
        kind = "an array" if isinstance(value, list) else f"a JSON {_json_kind(value)}"
        return [_body_error(f"body must be a JSON object (one CloudEvent), not {kind}")]
    event_type = value.get("type")
    categorie = categorie_of(event_type) if isinstance(event_type, str) else None
    model: type[CloudEvent] | None = _SignalEvent if categorie is not None else None
    if isinstance(event_type, str) and categorie is None:
        model = _FEEDBACK_MODELS.get(event_type)
    data = value.get("data")
    # Envelope and data in one pass, unless the data cannot be validated for this type.
    event, errors, data_errors = _validate_event(value, model if data is not None else None)
    if isinstance(event_type, str) and event_type and model is None:
        errors.append(
            FieldError(
                field="type",
                # The partner's value is not quoted: the reason is stored and shown to
                # operators, and a type may carry anything (a name typed in the wrong field).
                message=f"type is not known; use {_KNOWN_TYPES} (categorie one of {_CATEGORIES})",
            )
        )
        return errors
    if model is not None and data is None:
        errors.append(FieldError(field="data", message="data is required for this type"))
    errors += data_errors
    if categorie is not None and isinstance(data, dict):
        errors += _person_rule(categorie, data.get("person"))

    if errors or event is None or model is None or data is None:
        return errors or [_body_error("event is not valid")]
    body_hash = canonical_body_hash(value)
    parsed = event.data
    if isinstance(parsed, SignalData):
        return ValidatedEvent(event, "signal", categorie, parsed, None, body_hash)
    assert isinstance(parsed, AcknowledgedData | ResolvedData)
    return ValidatedEvent(event, "feedback", None, None, parsed, body_hash)


def _validate_event(
    value: dict[str, Any], model: type[CloudEvent] | None
) -> tuple[CloudEvent | None, list[FieldError], list[FieldError]]:
    """The event as `model` (the bare envelope when None), its envelope errors and its data
    errors, each in the order partners have always been given them."""
    extensions = {k: v for k, v in value.items() if k not in _ENVELOPE_FIELDS}
    errors = []
    if extensions:
        errors = [
            FieldError(field=name, message=extension_name_message(name))
            for name in invalid_extension_names(extensions)
        ]
        errors += [
            FieldError(field=name, message=f"{name} must be a string, integer or boolean")
            for name in invalid_extension_values(extensions)
            if name not in {e.field for e in errors}
        ]
    event: CloudEvent | None = None
    data_errors: list[FieldError] = []
    try:
        event = (model or CloudEvent).model_validate(value)
    except ValidationError as exc:
        for error in field_errors(exc, skip_types=_EXTENSION_ERRORS):
            is_data = error.field == "data" or error.field.startswith("data.")
            (data_errors if model is not None and is_data else errors).append(error)
    errors += _content_type_errors(value.get("datacontenttype"))
    return event, errors, data_errors


def _person_rule(categorie: Categorie, person: Any) -> list[FieldError]:
    if categorie is _PERSON_CATEGORIE and person is None:
        message = "person is required for huurachterstand (name and a phone or an email)"
        return [FieldError(field="data.person", message=message)]
    if categorie is not _PERSON_CATEGORIE and person is not None:
        message = f"person is only allowed for huurachterstand, not for {categorie.value}"
        return [FieldError(field="data.person", message=message)]
    return []


def _content_type_errors(content_type: Any) -> list[FieldError]:
    if content_type is None or not isinstance(content_type, str):
        return []  # absent means JSON; a non-string is already reported by the envelope
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        return []
    return [
        FieldError(
            field="datacontenttype",
            message="datacontenttype must be application/json (or a +json type)",
        )
    ]


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string"
