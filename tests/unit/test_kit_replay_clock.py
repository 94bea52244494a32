"""The replay clock: each partition's share is handled at its own latest event time, also when
the shares of one fetch are handled side by side."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from wijkbus.processor import Delivery, Item
from wijkbus.replaying import Replay, ReplayClock

T0 = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)


def _share(partition: int, *hours: int) -> list[Item[None]]:
    return [
        Item(
            Delivery("t", partition, n, None, b""),
            f"{partition}-{n}",
            None,
            T0 + timedelta(hours=h),
        )
        for n, h in enumerate(hours)
    ]


async def _handled_at(replay: Replay, share: list[Item[None]], seen: list[datetime]) -> None:
    replay.admit(None, share)  # type: ignore[arg-type]
    await asyncio.sleep(0)  # the other share is admitted meanwhile
    seen.append(replay.clock())


async def test_shares_side_by_side_each_see_their_own_time() -> None:
    replay = Replay(ReplayClock())
    early: list[datetime] = []
    late: list[datetime] = []
    await asyncio.gather(
        _handled_at(replay, _share(0, 1, 3), early), _handled_at(replay, _share(1, 5, 2), late)
    )
    assert early == [T0 + timedelta(hours=3)]
    assert late == [T0 + timedelta(hours=5)]


async def test_one_after_another_the_clock_is_the_last_shares_time() -> None:
    replay = Replay(ReplayClock())
    replay.admit(None, _share(0, 4))  # type: ignore[arg-type]
    assert replay.clock() == T0 + timedelta(hours=4)
    replay.admit(None, _share(1, 2))  # type: ignore[arg-type]
    assert replay.clock() == replay.clock.now == T0 + timedelta(hours=2)


async def test_until_leaves_out_later_events() -> None:
    replay = Replay(ReplayClock(), until=T0 + timedelta(hours=2))
    kept = replay.admit(None, _share(0, 1, 3))  # type: ignore[arg-type]
    assert [i.key for i in kept] == ["0-0"]
    assert replay.done.after_until == 1
