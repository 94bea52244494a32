"""A processor that takes only some of a topic's types skips the others before the inbox."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contracts.codec import encode
from contracts.events import (
    EVENT_TYPES,
    ROUTING_ASSIGNED_TYPE,
    ROUTING_ESCALATED_TYPE,
    ResponderEscalated,
)
from tests.unit.test_contracts_events import SAMPLES
from wijkbus import processor
from wijkbus.processor import Delivery, Skipped

AT = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)


async def _nothing(conn: object, events: list[object]) -> None:
    raise AssertionError("not handled here")


def _record(type_: str, data: dict[str, object]) -> Delivery:
    model = EVENT_TYPES[type_].model_validate(data)
    value = encode(type_, "urn:nld:wijkbus:routing", model, id=f"{type_}-1", subject="s", time=AT)
    return Delivery("routing.events", 0, 0, b"s", value)


ESCALATIONS = processor.events("escalations", ["routing.events"], _nothing,
                               only={ROUTING_ESCALATED_TYPE})  # fmt: skip


def test_a_type_it_takes_is_decoded() -> None:
    item = ESCALATIONS.decode(_record(ROUTING_ESCALATED_TYPE, SAMPLES[ROUTING_ESCALATED_TYPE]))
    assert item.value.type == ROUTING_ESCALATED_TYPE
    assert ResponderEscalated.model_validate(item.value.data).to_partner_id


def test_other_types_are_skipped_even_when_the_name_is_in_their_data() -> None:
    with pytest.raises(Skipped):
        ESCALATIONS.decode(_record(ROUTING_ASSIGNED_TYPE, SAMPLES[ROUTING_ASSIGNED_TYPE]))
    named = {**SAMPLES[ROUTING_ASSIGNED_TYPE], "rule_id": ROUTING_ESCALATED_TYPE}
    with pytest.raises(Skipped):
        ESCALATIONS.decode(_record(ROUTING_ASSIGNED_TYPE, named))


def test_without_only_every_type_is_decoded() -> None:
    every = processor.events("all", ["routing.events"], _nothing)
    item = every.decode(_record(ROUTING_ASSIGNED_TYPE, SAMPLES[ROUTING_ASSIGNED_TYPE]))
    assert item.value.type == ROUTING_ASSIGNED_TYPE
