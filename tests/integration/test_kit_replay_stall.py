"""A replay whose partition never reaches the end it was told ends with a clear error naming the
topic, the partition and the offsets, instead of waiting forever."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from tests.support import produce, unique
from wijkbus import replaying


async def test_a_partition_that_never_reaches_its_end_stalls_the_replay_by_name(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = unique("stall")
    for n in range(3):
        await produce(kafka_bootstrap, topic, b"%d" % n, key=b"one-key")
    real_end_offsets = replaying.end_offsets

    async def lost_records(
        consumer: AIOKafkaConsumer, partitions: Sequence[TopicPartition]
    ) -> dict[TopicPartition, int]:
        # As after a broker restart: the end read before is beyond what the partition holds.
        ends = await real_end_offsets(consumer, partitions)
        return {tp: end + 2 if end else end for tp, end in ends.items()}

    monkeypatch.setattr(replaying, "end_offsets", lost_records)
    read = []
    with pytest.raises(replaying.ReplayStalled) as stalled:
        async for batch in replaying.batches(kafka_bootstrap, [topic], stall_s=2):
            read += batch
    assert len(read) == 3
    assert f"{topic}[" in str(stalled.value)
    assert "at offset 3 of 5" in str(stalled.value)
