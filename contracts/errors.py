"""Turn pydantic validation errors into FieldErrors with dotted paths and plain English."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from contracts.fields import TIMESTAMP_EXAMPLE
from contracts.receipts import FieldError

_TIMESTAMP = f"{{name}} must be an RFC 3339 timestamp with a UTC offset, e.g. {TIMESTAMP_EXAMPLE}"
_DATE = "{name} must be a date like 2026-01-31"
_OBJECT = "{name} must be a JSON object"
_ARRAY = "{name} must be a JSON array"
_INTEGER = "{name} must be a whole number"

_TEMPLATES: dict[str, str] = {
    "missing": "{name} is required",
    "extra_forbidden": "{name} is not a known field",
    "string_type": "{name} must be a string",
    "string_too_long": "{name} must be at most {max_length} characters (got {length})",
    "literal_error": "{name} must be one of {expected}",
    "enum": "{name} must be one of {expected}",
    "int_type": _INTEGER,
    "int_parsing": _INTEGER,
    "int_from_float": _INTEGER,
    "greater_than": "{name} must be greater than {gt}",
    "greater_than_equal": "{name} must be at least {ge}",
    "less_than_equal": "{name} must be at most {le}",
    "float_type": "{name} must be a number",
    "float_parsing": "{name} must be a number",
    "bool_type": "{name} must be true or false",
    "bool_parsing": "{name} must be true or false",
    "datetime_type": _TIMESTAMP,
    "datetime_parsing": _TIMESTAMP,
    "datetime_from_date_parsing": _TIMESTAMP,
    "datetime_object_invalid": _TIMESTAMP,
    "timezone_aware": _TIMESTAMP,
    "date_type": _DATE,
    "date_parsing": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": _DATE,
    "model_type": _OBJECT,
    "model_attributes_type": _OBJECT,
    "dict_type": _OBJECT,
    "list_type": _ARRAY,
    "tuple_type": _ARRAY,
    "too_long": "{name} must have at most {max_length} items",
}


def dotted_path(loc: Sequence[str | int], prefix: str = "") -> str:
    """Join a pydantic `loc` into "data.location.postcode"; list indices stay numbers."""
    parts = [prefix] if prefix else []
    parts.extend(str(part) for part in loc)
    return ".".join(parts)


def _leaf_name(loc: Sequence[str | int], prefix: str) -> str:
    for part in reversed(loc):
        if isinstance(part, str):
            return part
    return prefix.rsplit(".", 1)[-1] if prefix else "event"


def error_message(error: ErrorDetails, name: str) -> str:
    """A human English message for one pydantic error about the field `name`."""
    kind = error["type"]
    ctx = dict(error.get("ctx") or {})
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "string_too_short":
        minimum = ctx.get("min_length", 1)
        if minimum == 1:
            return f"{name} must not be empty"
        return f"{name} must be at least {minimum} characters"
    if kind == "literal_error" and not any(
        sep in str(ctx.get("expected")) for sep in (",", " or ")
    ):
        return f"{name} must be {ctx.get('expected')}"
    template = _TEMPLATES.get(kind)
    if template is None:
        # Our own PydanticCustomErrors already read as a sentence naming the field.
        message = error["msg"]
        return f"{name} {message[6:]}" if message.startswith("Input ") else message
    value = error.get("input")
    length = len(value) if isinstance(value, str | list | tuple | dict) else "?"
    try:
        return template.format(name=name, length=length, **ctx)
    except (KeyError, IndexError):
        return f"{name}: {error['msg']}"


def field_errors(
    exc: ValidationError, prefix: str = "", *, skip_types: frozenset[str] = frozenset()
) -> list[FieldError]:
    """All errors of `exc` as FieldErrors, paths relative to the event (e.g. prefix "data")."""
    return [
        FieldError(
            field=dotted_path(error["loc"], prefix),
            message=error_message(error, _leaf_name(error["loc"], prefix)),
        )
        for error in exc.errors()
        if error["type"] not in skip_types
    ]
