from __future__ import annotations

import struct
import zlib

import pytest

from ingest.registry import VENUES
from ingest.sequence_rules import (
    BinanceFuturesRule,
    BinanceSpotRule,
    DeribitRule,
    OkxRule,
    SequenceRule,
    okx_checksum,
)
from tests.unit.ingest.book_factories import delta, levels


def test_every_venue_declares_its_rule() -> None:
    rules = {name: type(venue.book_rule) for name, venue in VENUES.items()}
    assert rules == {
        "binance": BinanceSpotRule,
        "binance_futures": BinanceFuturesRule,
        "okx": OkxRule,
        "deribit": DeribitRule,
    }


def test_binance_spot() -> None:
    rule = BinanceSpotRule()
    assert rule.buffers_before_snapshot
    assert rule.stale(delta(5, 10), 10, after_snapshot=True)
    assert not rule.stale(delta(5, 11), 10, after_snapshot=True)
    # first applied: U <= lastUpdateId + 1 <= u
    assert rule.bridges(delta(5, 11), 10)
    assert rule.bridges(delta(11, 11), 10)
    assert not rule.bridges(delta(12, 15), 10)
    # afterwards: U == previous u + 1
    assert rule.follows(delta(11, 20), 10)
    assert not rule.follows(delta(12, 20), 10)
    assert not rule.follows(delta(10, 20), 10)
    assert rule.missing(delta(15, 20), 10) == 4


def test_binance_futures() -> None:
    rule = BinanceFuturesRule()
    assert rule.buffers_before_snapshot
    # drop u < lastUpdateId before the first applied; u == lastUpdateId may bridge
    assert rule.stale(delta(5, 9), 10, after_snapshot=True)
    assert not rule.stale(delta(5, 10), 10, after_snapshot=True)
    assert rule.stale(delta(5, 10), 10, after_snapshot=False)  # a repeat of the last applied
    # first applied: U <= lastUpdateId <= u
    assert rule.bridges(delta(5, 10), 10)
    assert rule.bridges(delta(10, 12), 10)
    assert not rule.bridges(delta(11, 12), 10)
    # afterwards: pu == previous u (U is not contiguous on futures)
    assert rule.follows(delta(17, 20, prev=10), 10)
    assert not rule.follows(delta(11, 20, prev=9), 10)
    assert rule.missing(delta(17, 20, prev=9), 10) is None


def test_okx() -> None:
    rule = OkxRule()
    assert not rule.buffers_before_snapshot and rule.has_checksum
    assert rule.bridges(delta(seq=12, prev=10), 10)
    assert not rule.bridges(delta(seq=12, prev=11), 10)
    assert rule.follows(delta(seq=12, prev=10), 10)
    assert not rule.follows(delta(seq=12, prev=11), 10)
    # a heartbeat repeats the last id and changes nothing: not stale, and it follows
    heartbeat = delta(seq=10, prev=10)
    assert not rule.stale(heartbeat, 10, after_snapshot=False)
    assert rule.follows(heartbeat, 10)
    # a repeated update is stale
    assert rule.stale(delta(seq=10, prev=8), 10, after_snapshot=False)
    assert rule.stale(delta(seq=9, prev=8), 10, after_snapshot=False)
    # recorded before seqId existed: nothing to check
    assert not rule.stale(delta(), 10, after_snapshot=False)
    assert rule.follows(delta(), 10)


def test_deribit() -> None:
    rule = DeribitRule()
    assert not rule.buffers_before_snapshot and not rule.has_checksum
    assert rule.bridges(delta(seq=105, prev=100), 100)
    assert rule.follows(delta(seq=105, prev=100), 100)
    assert not rule.follows(delta(seq=105, prev=103), 100)
    assert rule.stale(delta(seq=100, prev=90), 100, after_snapshot=False)


def _signed_crc(text: str) -> int:
    (value,) = struct.unpack("<i", struct.pack("<I", zlib.crc32(text.encode())))
    return int(value)


@pytest.mark.parametrize(
    ("bids", "asks", "text"),
    [
        (
            [("3366.1", "7"), ("3366", "6")],
            [("3366.8", "9"), ("3368", "8")],
            "3366.1:7:3366.8:9:3366:6:3368:8",
        ),
        (
            [("3366.1", "7")],
            [("3366.8", "9"), ("3368", "8"), ("3372", "8")],
            "3366.1:7:3366.8:9:3368:8:3372:8",
        ),
        ([("0.0100", "1.50")], [], "0.0100:1.50"),
    ],
)
def test_okx_checksum_interleaves_the_exchange_strings(
    bids: list[tuple[str, str]], asks: list[tuple[str, str]], text: str
) -> None:
    assert okx_checksum(levels(bids), levels(asks)) == _signed_crc(text)


def test_the_base_rule_accepts_everything() -> None:
    rule = SequenceRule()
    assert rule.bridges(delta(1, 2), 100) and rule.follows(delta(1, 2), 100)
    assert not rule.stale(delta(1, 2), 100, after_snapshot=False)
    assert not rule.has_checksum and not rule.buffers_before_snapshot
