"""The producer's partitioner places every key where aiokafka's default (and the Java
client, and Faust) would."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given
from hypothesis import strategies as st

from ingest.producer import KeyHashPartitioner

KEYS = st.binary(min_size=0, max_size=40) | st.text(max_size=30).map(str.encode)


@given(st.lists(KEYS, min_size=1, max_size=30), st.integers(min_value=1, max_value=64))
def test_same_partition_as_the_default_partitioner(keys: list[bytes], partitions: int) -> None:
    ours, default = KeyHashPartitioner(max_keys=8), DefaultPartitioner()
    all_partitions = list(range(partitions))
    for key in keys + keys:  # the second time from the remembered hash
        assert ours(key, all_partitions, all_partitions) == default(
            key, all_partitions, all_partitions
        )


def test_a_topic_that_grew_partitions_rehashes_the_key() -> None:
    ours, default = KeyHashPartitioner(), DefaultPartitioner()
    key = b"binance:BTC-USDT"
    for count in (1, 4, 12, 4):
        parts = list(range(count))
        assert ours(key, parts, parts) == default(key, parts, parts)


def test_a_record_without_a_key_goes_to_an_available_partition() -> None:
    ours = KeyHashPartitioner()
    assert all(ours(None, [0, 1, 2, 3], [2]) == 2 for _ in range(20))
