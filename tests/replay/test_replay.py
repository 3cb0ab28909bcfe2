"""Recorded real sessions -> parsers -> the full normalized output, compared with golden files.

The golden files are produced by ``tests/replay/make_golden.py`` (see
``tests/replay/normalize.py``); a few of their records are checked by hand
below against the raw recorded message.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from ingest.binance import Binance
from ingest.recording import read_recording
from ingest.registry import venue_for_url
from ingest.wire import DepthSnapshot
from models import DeadLetter
from tests.replay.normalize import RECORDINGS, golden_path, normalized_lines
from tests.shared_data import shared_data_dir


@pytest.mark.parametrize(("recording", "limit"), RECORDINGS, ids=[r for r, _ in RECORDINGS])
def test_normalized_output_matches_golden(recording: str, limit: int | None) -> None:
    path = shared_data_dir() / recording
    expected = golden_path(recording).read_text(encoding="utf-8").splitlines()
    actual = list(normalized_lines(path, limit))
    for n, (got, want) in enumerate(zip(actual, expected, strict=False)):
        assert got == want, f"{recording}: golden line {n} differs"
    assert len(actual) == len(expected)


def test_golden_files_stay_small() -> None:
    total = sum(golden_path(recording).stat().st_size for recording, _ in RECORDINGS)
    assert total < 4_000_000


@pytest.mark.parametrize("session", ["BINANCE", "BINANCE_FUTURES", "OKX", "DERIBIT"])
def test_every_recorded_message_normalizes(session: str) -> None:
    """Each received message yields records, except acks and the candles nobody normalizes."""
    path = shared_data_dir() / "recorded" / f"{session}.ws.1.0"
    venue = None
    for message in read_recording(path):
        if message.direction == "opened":
            kind = venue_for_url(message.source)
            assert kind is not None
            venue = kind(max_clock_skew=None)
        if message.direction != "received" or not message.text:
            continue
        assert venue is not None
        records = venue.parse(message.text, message.received_at)
        acknowledgement = '"event":"subscribe"' in message.text or '"result":[' in message.text
        if acknowledgement:
            assert records == []
        elif '"e":"kline"' in message.text:
            assert [r.model_dump()["reason"] for r in records] == ["unsupported event type 'kline'"]
        else:
            assert records
            assert all(not isinstance(r, DeadLetter) for r in records)


def _golden(recording: str) -> list[dict[str, Any]]:
    text = golden_path(recording).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_hand_checked_binance_spot_trade() -> None:
    shared_data_dir()
    # raw: 1723161254087896568 {"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,
    #   "s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,
    #   "m":true,"M":true}}
    trade = next(
        line["record"]
        for line in _golden("binance-hft/spot_btcusdt_20240808.gz")
        if line.get("record", {}).get("type") == "trade"
    )
    assert trade["symbol"] == "BTC-USDT"
    assert trade["trade_id"] == "3735683259"
    assert trade["price"] == "61837.63000000"
    assert trade["quantity"] == "0.02000000"
    assert trade["side"] == "sell"  # m=true: the buyer was the maker
    assert trade["timestamp"] == "2024-08-08T23:54:15.342000Z"  # T, the trade time
    assert trade["collected_at"] == "2024-08-08T23:54:14.087896Z"  # the recorded ns time


def test_hand_checked_binance_futures_depth_delta() -> None:
    shared_data_dir()
    # raw: {"e":"depthUpdate","E":1626992741037,"T":1626992741024,"s":"SUSHIUSDT",
    #   "U":600859599090,"u":600859600917,"pu":600859598061,
    #   "b":[["7.5040","813"],["7.6090","0"],["7.6110","2"]],
    #   "a":[["7.6150","1563"],["7.6220","3284"]]}
    delta = _golden("recorded/BINANCE_FUTURES.ws.1.0")[1]["record"]
    assert delta["type"] == "book_delta"
    assert delta["symbol"] == "SUSHI-USDT-PERP"
    assert (delta["first_sequence"], delta["sequence"], delta["prev_sequence"]) == (
        600859599090,
        600859600917,
        600859598061,
    )
    assert delta["bids"] == [["7.5040", "813"], ["7.6090", "0"], ["7.6110", "2"]]
    assert delta["asks"] == [["7.6150", "1563"], ["7.6220", "3284"]]
    assert delta["timestamp"] == "2021-07-22T22:25:41.024000Z"


def test_hand_checked_okx_book_update_and_deribit_ticker() -> None:
    shared_data_dir()
    okx = _golden("recorded/OKX.ws.1.0")
    # raw: {"arg":{"channel":"books","instId":"BTC-USD-220527"},"action":"update","data":[{"asks":
    #   [["30249.4","0","0","0"],["30261","4","0","1"],["30310.3","19","0","1"]],
    #   "bids":[["30182.6","452","0","1"]],"ts":"1652459225464","checksum":-914047754}]}
    update = next(r["record"] for r in okx if r["record"]["type"] == "book_delta")
    assert update["symbol"] == "BTC-USD-20220527"
    assert update["instrument_type"] == "future"
    assert update["asks"] == [["30249.4", "0"], ["30261", "4"], ["30310.3", "19"]]
    assert update["bids"] == [["30182.6", "452"]]
    deribit = _golden("recorded/DERIBIT.ws.1.0")
    # raw: ticker.ETH-30JUL21-2800-C: "timestamp":1626993723632, "open_interest":12685.0,
    #   "best_bid_price":0.0015,"best_bid_amount":4714.0,"best_ask_price":0.0025, "last_price":0.002
    ticker, interest = deribit[0]["record"], deribit[1]["record"]
    assert ticker["symbol"] == "ETH-USD-20210730-2800-C"
    assert (ticker["bid_price"], ticker["ask_price"], ticker["last_price"]) == (
        "0.0015",
        "0.0025",
        "0.002",
    )
    assert interest["type"] == "open_interest"
    assert Decimal(interest["open_interest"]) == Decimal("12685")


def test_binance_rest_snapshot_from_recording() -> None:
    path = shared_data_dir() / "recorded" / "BINANCE.http.0.0"
    first = next(read_recording(path))
    venue = venue_for_url(first.source)
    assert venue is Binance
    snapshot = venue(max_clock_skew=None).parse_snapshot(first.text, first.received_at, "NKN-USDT")
    assert isinstance(snapshot, DepthSnapshot)
    assert snapshot.sequence == 499869752
    assert snapshot.timestamp is None  # spot REST depth carries no exchange time
    assert snapshot.bids[0] == (Decimal("0.35210000"), Decimal("672.00000000"))
    assert snapshot.collected_at == datetime(2021, 10, 12, 0, 28, 32, 320639, tzinfo=UTC)
