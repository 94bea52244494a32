"""The CloudEvents 1.0 envelope (structured JSON mode, NL GOV profile)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator
from pydantic_core import PydanticCustomError, to_json

from contracts.fields import UtcDatetime

CONTENT_TYPE = "application/cloudevents+json"
BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"
MAX_EVENT_BYTES = 64 * 1024

_EXTENSION_NAME = re.compile(r"^[a-z0-9]+$")
ExtensionValue = str | int | bool


def invalid_extension_names(names: Iterable[str]) -> list[str]:
    """Names that break the CloudEvents rule: attribute names are lower-case a-z and 0-9 only."""
    return [name for name in names if not _EXTENSION_NAME.fullmatch(name)]


def invalid_extension_values(extensions: Mapping[str, Any]) -> list[str]:
    """Extensions whose value is not a string, integer or boolean (null counts as absent)."""
    # Extensions are scalar by spec; an object here usually means misplaced data.
    return [k for k, v in extensions.items() if v is not None and not isinstance(v, ExtensionValue)]


def extension_name_message(name: str) -> str:
    """Why the attribute `name` is not acceptable as a CloudEvents extension."""
    if name == "data_base64":
        return "data_base64 is not supported; send data as JSON in the data member"
    return (
        f"extension attribute {name!r} is not allowed: CloudEvents attribute names "
        "use only lower-case letters a-z and digits 0-9"
    )


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event; extension attributes are kept as extra fields."""

    model_config = ConfigDict(frozen=True, extra="allow")

    specversion: Literal["1.0"]
    id: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    source: Annotated[str, StringConstraints(min_length=1)]
    type: Annotated[str, StringConstraints(min_length=1)]
    time: UtcDatetime | None = None
    datacontenttype: str | None = "application/json"
    subject: str | None = None
    dataref: str | None = None
    data: Any = None

    @model_validator(mode="after")
    def _check_extensions(self) -> CloudEvent:
        extra = self.model_extra
        if not extra:
            return self  # the usual case, kept cheap: this runs once per decoded record
        bad = invalid_extension_names(extra)
        if bad:
            raise PydanticCustomError(
                "extension_name",
                "extension attribute names must be lower-case letters and digits: {names}",
                {"names": ", ".join(bad)},
            )
        nested = invalid_extension_values(extra)
        if nested:
            raise PydanticCustomError(
                "extension_value",
                "extension attributes must be a string, integer or boolean: {names}",
                {"names": ", ".join(nested)},
            )
        return self


def new_event(
    type: str,
    source: str,
    data: BaseModel,
    *,
    subject: str | None = None,
    id: str | None = None,
    time: datetime | None = None,
    dataref: str | None = None,
    extensions: Mapping[str, ExtensionValue] | None = None,
) -> CloudEvent:
    """Wrap `data` in a CloudEvent; id defaults to a uuid4, time to now (UTC)."""
    return CloudEvent(
        specversion="1.0",
        id=id or str(uuid.uuid4()),
        source=source,
        type=type,
        time=time or datetime.now(UTC),
        datacontenttype="application/json",
        subject=subject,
        dataref=dataref,
        # Stored as plain JSON so an event compares equal to its parsed copy.
        data=data.model_dump(mode="json"),
        **dict(extensions or {}),
    )


def to_json_bytes(event: CloudEvent) -> bytes:
    """Compact structured-mode JSON; absent attributes are left out, nulls inside data kept."""
    # pydantic_core writes what json.dumps(model_dump(mode="json"), compact, ensure_ascii=False)
    # wrote, in the same key order, without dumping to dicts first; the one difference is a
    # float's exponent (1e-7, not 1e-07), and wijkbus's own event data has no floats.
    body = {k: v for k, v in event.__dict__.items() if v is not None}
    if event.__pydantic_extra__:
        body.update((k, v) for k, v in event.__pydantic_extra__.items() if v is not None)
    return to_json(body)


def parse_event(raw: bytes) -> CloudEvent:
    """Parse one structured-mode CloudEvent; raises pydantic.ValidationError when invalid."""
    return CloudEvent.model_validate_json(raw)
