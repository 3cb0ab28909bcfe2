"""Recorded real sessions -> parsers -> :class:`BookSync`: each venue's sequence rules
(and OKX's checksum) hold on real data, and a removed or tampered message is caught."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from ingest.binance import Binance
from ingest.binance_futures import BinanceFutures
from ingest.book_sync import BookSync
from ingest.recording import RecordedMessage, read_recording
from ingest.registry import venue_for_url
from ingest.venue import Venue
from ingest.wire import DepthSnapshot
from models import BookDelta, BookSnapshot, GapEvent, Record
from tests.shared_data import shared_data_dir
from tests.unit.ingest.book_factories import delta, rest_snapshot

SPOT_FILES = ("spot_btcusdt_20240808.gz", "spot_btcusdt_20240809.gz")
USDM_FILE = "usdm_btcusdt_20240808.gz"
SPOT_DEPTH_UPDATES = 6_493  # after the snapshot, per binance-hft/README.md


def _hft_messages(*names: str) -> Iterator[RecordedMessage]:
    root = shared_data_dir() / "binance-hft"
    for name in names:
        for message in read_recording(root / name):
            if message.direction == "rest" or "@depth" in message.source:
                yield message


@pytest.fixture(scope="module")
def spot_messages() -> list[RecordedMessage]:
    return list(_hft_messages(*SPOT_FILES))


def _replay_hft(
    venue: Venue, symbol: str, messages: list[RecordedMessage], sync: BookSync
) -> list[Record]:
    out: list[Record] = []
    for message in messages:
        if message.direction == "rest":
            snapshot = venue.parse_snapshot(message.text, message.received_at, symbol)
            assert isinstance(snapshot, DepthSnapshot), snapshot
            out += sync.on_snapshot(snapshot)
            continue
        (record,) = venue.parse(message.text, message.received_at)
        assert isinstance(record, BookDelta), record
        out += sync.on_delta(record)
    return out


def _naive_book(messages: list[RecordedMessage]) -> tuple[dict[str, str], dict[str, str]]:
    """The final book by a plain dict replay of the raw JSON (no parser, no BookSync):
    the snapshot, then every update past its ``lastUpdateId``, in file order."""
    (snapshot,) = [orjson.loads(m.text) for m in messages if m.direction == "rest"]
    bids: dict[str, str] = dict(snapshot["bids"])
    asks: dict[str, str] = dict(snapshot["asks"])
    for message in messages:
        if message.direction == "rest":
            continue
        event = orjson.loads(message.text)["data"]
        if event["u"] <= snapshot["lastUpdateId"]:
            continue
        for side, rows in ((bids, event["b"]), (asks, event["a"])):
            for price, size in rows:
                if Decimal(size) == 0:
                    side.pop(price, None)
                else:
                    side[price] = size
    return bids, asks


def _top(side: dict[str, str], n: int, *, best_high: bool) -> list[tuple[Decimal, Decimal]]:
    prices = sorted(side, key=Decimal, reverse=best_high)[:n]
    return [(Decimal(p), Decimal(side[p])) for p in prices]


def test_spot_book_rebuilds_with_no_gap_and_matches_a_naive_replay(
    spot_messages: list[RecordedMessage],
) -> None:
    sync = BookSync.for_venue(Binance)
    events = _replay_hft(Binance(max_clock_skew=None), "BTC-USDT", spot_messages, sync)
    assert events == []
    assert sync.stats.applied == SPOT_DEPTH_UPDATES
    assert sync.stats.gaps == {}
    assert not sync.crossed("BTC-USDT")
    top = sync.top("BTC-USDT", 1000)
    assert top is not None
    bids, asks = _naive_book(spot_messages)
    assert top.bids == _top(bids, 1000, best_high=True)
    assert top.asks == _top(asks, 1000, best_high=False)
    assert len(top.bids) == len(top.asks) == 1000


def test_deleting_one_spot_delta_is_one_gap_of_that_symbol_only(
    spot_messages: list[RecordedMessage],
) -> None:
    depth = [n for n, m in enumerate(spot_messages) if m.direction == "received"]
    removed = depth[3000]
    lost = orjson.loads(spot_messages[removed].text)["data"]
    messages = spot_messages[:removed] + spot_messages[removed + 1 :]

    sync = BookSync.for_venue(Binance)
    venue = Binance(max_clock_skew=None)
    # a second symbol's deltas chained alongside, one per recorded message
    out = sync.on_snapshot(rest_snapshot(1000, [("10", "1")], [("11", "1")], symbol="ETH-USDT"))
    for n, message in enumerate(messages, start=1):
        out += _replay_hft(venue, "BTC-USDT", [message], sync)
        out += sync.on_delta(delta(1000 + n, 1000 + n, bids=[("10", str(n))], symbol="ETH-USDT"))

    (gap,) = [r for r in out if isinstance(r, GapEvent)]
    assert (gap.symbol, gap.cause, gap.resynced) == ("BTC-USDT", "sequence_gap", False)
    assert gap.from_sequence == lost["U"] - 1
    assert gap.to_sequence == lost["u"] + 1
    assert gap.missing == lost["u"] - lost["U"] + 1
    assert sync.needs_snapshot("BTC-USDT") and sync.book("BTC-USDT") is None
    eth = sync.book("ETH-USDT")
    assert eth is not None and eth.sequence == 1000 + len(messages)
    assert not sync.needs_snapshot("ETH-USDT")


def test_usdm_book_chains_on_pu_with_no_gap() -> None:
    sync = BookSync.for_venue(BinanceFutures)
    venue = BinanceFutures(max_clock_skew=None)
    events = _replay_hft(venue, "BTC-USDT-PERP", list(_hft_messages(USDM_FILE)), sync)
    assert events == []
    assert sync.stats.gaps == {}
    assert sync.stats.applied == 6_547  # 6,551 updates, 4 before the snapshot's id
    assert not sync.crossed("BTC-USDT-PERP")


def _replay_session(path: Path, tamper: str | None = None) -> tuple[BookSync, list[Record]]:
    """A cryptofeed session's book messages through one BookSync; with ``tamper``, the
    first update of that symbol that sets an ask gets that ask's size doubled."""
    venue: Venue | None = None
    sync: BookSync | None = None
    out: list[Record] = []
    for message in read_recording(path):
        if message.direction == "opened":
            kind = venue_for_url(message.source)
            assert kind is not None
            venue, sync = kind(max_clock_skew=None), BookSync.for_venue(kind)
        if message.direction != "received":
            continue
        assert venue is not None and sync is not None
        for record in venue.parse(message.text, message.received_at):
            if isinstance(record, BookSnapshot):
                out += sync.on_snapshot(record)
            elif isinstance(record, BookDelta):
                if tamper == record.symbol and any(size for _, size in record.asks):
                    asks = [(p, s * 2) for p, s in record.asks]
                    record = record.model_copy(update={"asks": asks})
                    tamper = None
                out += sync.on_delta(record)
    assert sync is not None
    return sync, out


def test_okx_checksums_verify_for_every_recorded_update() -> None:
    sync, events = _replay_session(shared_data_dir() / "recorded" / "OKX.ws.1.0")
    assert events == []
    assert sync.stats.snapshots == 3
    assert sync.stats.applied == 287
    assert sync.stats.checksums_verified == 3 + 287
    for symbol in ("BTC-USDT", "BTC-USD-20220527", "UNI-USD-PERP"):
        assert not sync.crossed(symbol)


def test_okx_tampered_level_is_a_checksum_mismatch_of_that_symbol_only() -> None:
    path = shared_data_dir() / "recorded" / "OKX.ws.1.0"
    sync, events = _replay_session(path, tamper="BTC-USDT")
    (gap,) = events
    assert isinstance(gap, GapEvent)
    assert (gap.exchange, gap.symbol, gap.cause) == ("okx", "BTC-USDT", "checksum_mismatch")
    assert sync.needs_snapshot("BTC-USDT")
    assert not sync.needs_snapshot("UNI-USD-PERP")
    assert not sync.needs_snapshot("BTC-USD-20220527")
    assert sync.stats.gaps == {"checksum_mismatch": 1}


def test_deribit_change_ids_chain_with_no_gap() -> None:
    sync, events = _replay_session(shared_data_dir() / "recorded" / "DERIBIT.ws.1.0")
    assert events == []
    assert sync.stats.snapshots == 10
    assert sync.stats.applied == 36
    assert sync.stats.stale == 0
