"""Reusable annotated field types with precise, human error messages."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, StringConstraints, ValidationInfo, WithJsonSchema
from pydantic_core import PydanticCustomError

from contracts.topics import PARTNER_ID_PATTERN

TIMESTAMP_EXAMPLE = "2026-11-20T21:15:00+01:00"


def _to_utc(value: datetime, info: ValidationInfo) -> datetime:
    # A naive timestamp from another organisation's system is ambiguous (local time? UTC?),
    # so it is refused instead of guessed at.
    if value.tzinfo is None or value.utcoffset() is None:
        raise PydanticCustomError(
            "timestamp_naive",
            "{name} must include a UTC offset, e.g. {example}; a timestamp without one is "
            "ambiguous",
            {"name": info.field_name or "timestamp", "example": TIMESTAMP_EXAMPLE},
        )
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_to_utc)]
"""An aware timestamp, converted to UTC; naive timestamps are rejected."""


def patterned(pattern: str, code: str, message: str) -> Callable[[str, ValidationInfo], str]:
    """A validator that checks `pattern` and fails with `message` (may use {name})."""
    compiled = re.compile(pattern)

    def check(value: str, info: ValidationInfo) -> str:
        if not compiled.fullmatch(value):
            raise PydanticCustomError(code, message, {"name": info.field_name or "value"})
        return value

    return check


def pattern_schema(pattern: str, **extra: Any) -> WithJsonSchema:
    """JSON Schema for a patterned string, since a custom validator hides the pattern."""
    return WithJsonSchema({"type": "string", "pattern": pattern, **extra})


NonEmptyStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
SignalId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
PartnerId = Annotated[
    str,
    AfterValidator(
        patterned(
            PARTNER_ID_PATTERN,
            "partner_id_format",
            "{name} must be a partner slug: lower-case letters, digits and '-'",
        )
    ),
    pattern_schema(PARTNER_ID_PATTERN),
]
Note = Annotated[str, StringConstraints(max_length=2000)]
