"""The kit's partitioner gives every key the partition aiokafka's default partitioner gives it."""

from __future__ import annotations

import random

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2

from wijkbus.partitioning import murmur2, partition_for


def test_murmur2_is_kafkas_for_keys_of_every_length() -> None:
    rng = random.Random(5)
    keys = [rng.randbytes(n) for n in range(0, 70) for _ in range(20)]
    keys += [b"naam:groningen:benchstraat-17", "wijk-ñ-straße".encode()]
    assert [murmur2(k) for k in keys] == [aiokafka_murmur2(k) for k in keys]


def test_a_key_goes_where_aiokafka_would_send_it() -> None:
    rng = random.Random(6)
    for partitions in (1, 2, 3, 4, 12):
        every = list(range(partitions))
        for _ in range(200):
            key = rng.randbytes(rng.randrange(1, 60))
            assert partition_for(key, every, every) == DefaultPartitioner()(key, every, every)


def test_a_keyless_record_goes_to_an_available_partition() -> None:
    assert {partition_for(None, [0, 1, 2, 3], [2]) for _ in range(20)} == {2}
    assert partition_for(None, [0, 1], []) in (0, 1)
