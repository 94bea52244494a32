"""The topics notify hears: live and replay read the same ones, the wijkhub's among them."""

from __future__ import annotations

from contracts import topics
from contracts.published import TOPIC_TYPES
from services.notify.app import NotifySettings
from services.notify.replay import INPUTS


def test_live_and_replay_hear_the_same_topics_in_the_same_order() -> None:
    assert list(NotifySettings.model_fields["event_topics"].default) == INPUTS


def test_notify_hears_the_wijkhubs_events() -> None:
    assert topics.WIJKHUBS_EVENTS in INPUTS


def test_notify_hears_every_internal_topic_so_it_delivers_each_type_published_on_them() -> None:
    assert set(INPUTS) == set(TOPIC_TYPES)
