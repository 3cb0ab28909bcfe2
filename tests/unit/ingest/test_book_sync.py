from __future__ import annotations

import pytest

from ingest.binance import Binance
from ingest.binance_futures import BinanceFutures
from ingest.book_sync import BookSync
from ingest.deribit import Deribit
from ingest.okx import Okx
from ingest.order_book import OrderBook
from ingest.sequence_rules import okx_checksum
from models import BookDelta, GapEvent, Record
from models.exceptions import ConfigError
from tests.unit.ingest.book_factories import T0, delta, levels, rest_snapshot, ws_snapshot

BIDS = [("100", "1"), ("99", "2")]
ASKS = [("101", "1"), ("102", "2")]


def _gaps(records: list[Record]) -> list[GapEvent]:
    return [r for r in records if isinstance(r, GapEvent)]


def _book(sync: BookSync, symbol: str = "BTC-USDT") -> OrderBook:
    book = sync.book(symbol)
    assert book is not None
    return book


# -- Binance spot ------------------------------------------------------------------


def test_spot_buffers_until_the_snapshot_then_drops_stale_and_bridges() -> None:
    sync = BookSync.for_venue(Binance)
    assert sync.needs_snapshot("BTC-USDT")
    assert sync.on_delta(delta(1, 5, bids=[("100", "9")])) == []  # stale: u <= 8
    assert sync.on_delta(delta(6, 10, bids=[("99", "5")])) == []  # bridges 9
    assert sync.on_delta(delta(11, 12, asks=[("101", "0")])) == []
    assert sync.needs_snapshot("BTC-USDT") and sync.top("BTC-USDT", 5) is None

    assert sync.on_snapshot(rest_snapshot(8, BIDS, ASKS)) == []
    book = _book(sync)
    assert not sync.needs_snapshot("BTC-USDT")
    assert book.sequence == 12
    assert book.bids.best(5) == levels([("100", "1"), ("99", "5")])
    assert book.asks.best(5) == levels([("102", "2")])
    assert sync.stats.applied == 2 and sync.stats.stale == 1

    assert sync.on_delta(delta(13, 15, bids=[("100.5", "1")])) == []
    top = sync.top("BTC-USDT", 1)
    assert top is not None and top.bids == levels([("100.5", "1")]) and top.sequence == 15


def test_spot_gap_resyncs_that_symbol_only() -> None:
    sync = BookSync.for_venue(Binance)
    sync.on_snapshot(rest_snapshot(10, BIDS, ASKS))
    sync.on_snapshot(rest_snapshot(500, BIDS, ASKS, symbol="ETH-USDT"))
    assert sync.on_delta(delta(11, 12)) == []
    assert sync.on_delta(delta(501, 502, symbol="ETH-USDT")) == []

    (gap,) = _gaps(sync.on_delta(delta(16, 20, ms=7)))  # 13..15 lost
    assert (gap.exchange, gap.symbol, gap.channel, gap.cause) == (
        "binance",
        "BTC-USDT",
        "book",
        "sequence_gap",
    )
    assert (gap.from_sequence, gap.to_sequence, gap.missing, gap.resynced) == (12, 16, 3, False)
    assert gap.timestamp == delta(ms=7).collected_at
    assert sync.needs_snapshot("BTC-USDT") and sync.book("BTC-USDT") is None

    # the other symbol is untouched and keeps applying
    assert sync.on_delta(delta(503, 504, symbol="ETH-USDT")) == []
    assert not sync.needs_snapshot("ETH-USDT") and _book(sync, "ETH-USDT").sequence == 504

    # BTC buffers again (the delta after the gap included) and a new snapshot rebuilds it
    assert sync.on_delta(delta(21, 22, bids=[("98", "1")])) == []
    (resync,) = _gaps(sync.on_snapshot(rest_snapshot(18, BIDS, ASKS)))
    assert resync.resynced and (resync.from_sequence, resync.to_sequence) == (12, 16)
    assert _book(sync).sequence == 22
    assert sync.stats.gaps == {"sequence_gap": 1}


def test_a_snapshot_older_than_the_buffer_is_set_aside() -> None:
    sync = BookSync.for_venue(Binance)
    sync.on_delta(delta(20, 25))
    assert sync.on_snapshot(rest_snapshot(10, BIDS, ASKS)) == []
    assert sync.needs_snapshot("BTC-USDT")
    assert sync.stats.snapshots_rejected == 1
    sync.on_delta(delta(26, 30))
    assert sync.on_snapshot(rest_snapshot(27, BIDS, ASKS)) == []
    assert _book(sync).sequence == 30


def test_a_gap_inside_the_buffer_is_found_when_the_snapshot_arrives() -> None:
    sync = BookSync.for_venue(Binance)
    for first, last in [(5, 10), (11, 12), (14, 15), (16, 17)]:
        sync.on_delta(delta(first, last))
    (gap,) = _gaps(sync.on_snapshot(rest_snapshot(9, BIDS, ASKS)))
    assert (gap.from_sequence, gap.to_sequence, gap.missing) == (12, 14, 1)
    assert sync.needs_snapshot("BTC-USDT")
    # what followed the gap stays buffered for the next snapshot
    assert sync.on_snapshot(rest_snapshot(15, BIDS, ASKS))[0] == gap.model_copy(
        update={"resynced": True}
    )
    assert _book(sync).sequence == 17


def test_a_snapshot_newer_than_every_buffered_delta_waits_for_the_bridge() -> None:
    sync = BookSync.for_venue(Binance)
    sync.on_delta(delta(1, 5))
    sync.on_snapshot(rest_snapshot(8, BIDS, ASKS))
    assert sync.on_delta(delta(7, 8)) == []  # stale
    assert sync.on_delta(delta(9, 9)) == []  # bridges
    (gap,) = _gaps(sync.on_delta(delta(11, 12)))
    assert gap.from_sequence == 9


def test_a_snapshot_not_bridged_by_the_next_delta_is_a_gap() -> None:
    sync = BookSync.for_venue(Binance)
    sync.on_snapshot(rest_snapshot(8, BIDS, ASKS))
    (gap,) = _gaps(sync.on_delta(delta(12, 14)))
    assert (gap.from_sequence, gap.to_sequence, gap.missing) == (8, 12, 3)


def test_buffer_is_bounded() -> None:
    sync = BookSync.for_venue(Binance, max_buffer=2)
    for n in range(1, 5):
        sync.on_delta(delta(n, n))
    assert sync.stats.buffer_overflow == 2
    assert sync.on_snapshot(rest_snapshot(1, BIDS, ASKS)) == []  # 2 was dropped: set aside
    assert sync.needs_snapshot("BTC-USDT")


def test_buffer_must_hold_something() -> None:
    with pytest.raises(ConfigError, match="max_buffer"):
        BookSync.for_venue(Binance, max_buffer=0)


def test_emit_deltas_returns_the_applied_deltas_in_order() -> None:
    sync = BookSync.for_venue(Binance, emit_deltas=True)
    first, second, stale = delta(9, 11), delta(12, 12), delta(12, 12)
    sync.on_delta(first)
    assert sync.on_snapshot(rest_snapshot(10, BIDS, ASKS)) == [first]
    assert sync.on_delta(second) == [second]
    assert sync.on_delta(stale) == []


def test_invalidate_reports_a_live_book_only() -> None:
    sync = BookSync.for_venue(Binance)
    assert sync.invalidate("BTC-USDT", "reconnect", T0) == []
    sync.on_snapshot(rest_snapshot(10, BIDS, ASKS))
    (gap,) = _gaps(sync.invalidate("BTC-USDT", "reconnect", T0))
    assert (gap.cause, gap.from_sequence, gap.to_sequence) == ("reconnect", 10, None)
    assert sync.needs_snapshot("BTC-USDT")


def test_crossed_book_is_detected() -> None:
    sync = BookSync.for_venue(Binance)
    sync.on_snapshot(rest_snapshot(10, BIDS, ASKS))
    assert not sync.crossed("BTC-USDT")
    sync.on_delta(delta(11, 11, bids=[("101.5", "1")]))
    assert sync.crossed("BTC-USDT")
    assert not sync.crossed("ETH-USDT")


def test_events_of_another_exchange_are_refused() -> None:
    sync = BookSync.for_venue(Binance)
    with pytest.raises(ValueError, match="okx book event"):
        sync.on_delta(delta(1, 2, exchange="okx"))


# -- Binance USD-M -------------------------------------------------------------------


def test_futures_chains_on_pu() -> None:
    sync = BookSync.for_venue(BinanceFutures)
    symbol, exchange = "BTC-USDT-PERP", "binance_futures"
    sync.on_delta(delta(90, 99, prev=80, symbol=symbol, exchange=exchange))  # u < 100: stale
    sync.on_delta(delta(95, 100, prev=99, symbol=symbol, exchange=exchange))  # U <= 100 <= u
    sync.on_delta(delta(104, 110, prev=100, symbol=symbol, exchange=exchange))
    snapshot = rest_snapshot(100, BIDS, ASKS, symbol=symbol, exchange=exchange)
    assert sync.on_snapshot(snapshot) == []
    assert _book(sync, symbol).sequence == 110
    assert sync.stats.applied == 2
    # U is not contiguous on futures; only pu matters
    assert sync.on_delta(delta(130, 140, prev=110, symbol=symbol, exchange=exchange)) == []
    (gap,) = _gaps(sync.on_delta(delta(160, 170, prev=150, symbol=symbol, exchange=exchange)))
    assert (gap.from_sequence, gap.to_sequence, gap.missing) == (140, 160, None)


# -- OKX -----------------------------------------------------------------------------


def _okx_checksum(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> int:
    return okx_checksum(levels(bids), levels(asks))


def test_okx_chains_seq_ids_and_verifies_checksums() -> None:
    sync = BookSync.for_venue(Okx)
    assert sync.on_delta(delta(seq=5, prev=4, exchange="okx")) == []  # before the snapshot
    assert sync.stats.dropped_waiting == 1
    snapshot = ws_snapshot(10, BIDS, ASKS, checksum=_okx_checksum(BIDS, ASKS))
    assert sync.on_snapshot(snapshot) == []
    after = [("100", "3"), ("99", "2")]
    update = delta(
        seq=12, prev=10, bids=[("100", "3")], exchange="okx", checksum=_okx_checksum(after, ASKS)
    )
    assert sync.on_delta(update) == []
    heartbeat = delta(seq=12, prev=12, exchange="okx", checksum=_okx_checksum(after, ASKS))
    assert sync.on_delta(heartbeat) == []
    assert sync.stats.checksums_verified == 3
    top = sync.top("BTC-USDT", 25)
    assert top is not None and top.checksum == _okx_checksum(after, ASKS)

    (gap,) = _gaps(sync.on_delta(delta(seq=20, prev=15, exchange="okx")))
    assert (gap.cause, gap.from_sequence, gap.to_sequence) == ("sequence_gap", 12, 20)
    assert sync.on_delta(delta(seq=21, prev=20, exchange="okx")) == []  # not buffered
    assert sync.stats.dropped_waiting == 2


def test_okx_checksum_mismatch_resyncs() -> None:
    sync = BookSync.for_venue(Okx)
    sync.on_snapshot(ws_snapshot(10, BIDS, ASKS, checksum=_okx_checksum(BIDS, ASKS)))
    sync.on_snapshot(ws_snapshot(7, BIDS, ASKS, symbol="ETH-USDT"))
    bad = delta(seq=11, prev=10, bids=[("100", "3")], exchange="okx", checksum=12345)
    (gap,) = _gaps(sync.on_delta(bad))
    assert (gap.cause, gap.from_sequence, gap.to_sequence) == ("checksum_mismatch", 10, 11)
    assert sync.needs_snapshot("BTC-USDT") and not sync.needs_snapshot("ETH-USDT")
    (resync,) = _gaps(sync.on_snapshot(ws_snapshot(30, BIDS, ASKS)))
    assert resync.resynced and resync.cause == "checksum_mismatch"
    assert not sync.needs_snapshot("BTC-USDT")


def test_okx_snapshot_with_a_wrong_checksum_is_not_used() -> None:
    sync = BookSync.for_venue(Okx)
    (gap,) = _gaps(sync.on_snapshot(ws_snapshot(10, BIDS, ASKS, checksum=1)))
    assert (gap.cause, gap.from_sequence) == ("checksum_mismatch", 10)
    assert sync.needs_snapshot("BTC-USDT")


def test_okx_without_seq_ids_relies_on_the_checksum() -> None:
    sync = BookSync.for_venue(Okx)
    sync.on_snapshot(ws_snapshot(None, BIDS, ASKS))
    update = delta(bids=[("99", "0")], exchange="okx", checksum=_okx_checksum(BIDS[:1], ASKS))
    assert sync.on_delta(update) == []
    assert sync.stats.checksums_verified == 1


# -- Deribit -------------------------------------------------------------------------


def test_deribit_chains_change_ids() -> None:
    sync = BookSync.for_venue(Deribit)
    symbol, exchange = "BTC-USD-PERP", "deribit"
    sync.on_snapshot(ws_snapshot(1000, BIDS, ASKS, symbol=symbol, exchange=exchange))
    assert sync.on_delta(delta(seq=1004, prev=1000, symbol=symbol, exchange=exchange)) == []
    assert sync.on_delta(delta(seq=1009, prev=1004, symbol=symbol, exchange=exchange)) == []
    (gap,) = _gaps(sync.on_delta(delta(seq=1020, prev=1015, symbol=symbol, exchange=exchange)))
    assert (gap.exchange, gap.from_sequence, gap.to_sequence) == ("deribit", 1009, 1020)
    assert isinstance(
        sync.on_snapshot(ws_snapshot(1030, BIDS, ASKS, symbol=symbol, exchange=exchange))[0],
        GapEvent,
    )


def test_applied_delta_records_are_the_parsed_ones() -> None:
    sync = BookSync.for_venue(Deribit, emit_deltas=True)
    sync.on_snapshot(ws_snapshot(1, BIDS, ASKS, symbol="BTC-USD-PERP", exchange="deribit"))
    change = delta(seq=2, prev=1, symbol="BTC-USD-PERP", exchange="deribit")
    (out,) = sync.on_delta(change)
    assert isinstance(out, BookDelta) and out is change
