from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

from ingest.binance import Binance
from ingest.binance_futures import BinanceFutures
from ingest.deribit import Deribit
from ingest.okx import Okx
from ingest.recording import RecordedMessage, read_recording, utc_from_seconds_text
from ingest.registry import VENUES, venue_for_recording, venue_for_url

CRYPTOFEED = """\
wss://ws.okx.com:8443/ws/v5/public <-> 1652459224.5300605
wss://ws.okx.com:8443/ws/v5/public <- 1652459225.2987883: {"op":"subscribe","args":[]}
1652459225.5037491: {"event":"subscribe","arg":{"channel":"tickers","instId":"BTC-USDT"}}
https://www.okx.com/api/v5/public/instruments?instType=SPOT -> 1652458996.256593: {"code":"0"}
configuration: {"trades":["BTC-USDT"]}

"""
HFT = (
    '1723161253937085768 {"stream":"btcusdt@trade","data":{"e":"trade"}}\n'
    '1723161254206652067 {"lastUpdateId":1,"bids":[],"asks":[]}\n'
)
URL = "wss://ws.okx.com:8443/ws/v5/public"


def test_cryptofeed_lines(tmp_path: Path) -> None:
    path = tmp_path / "OKX.ws.1.0"
    path.write_text(CRYPTOFEED)
    messages = list(read_recording(path))
    assert [m.direction for m in messages] == ["opened", "sent", "received", "rest"]
    assert messages[0] == RecordedMessage(
        utc_from_seconds_text("1652459224.5300605"), URL, "", "opened"
    )
    assert messages[2].source == URL
    assert (
        messages[2].text == '{"event":"subscribe","arg":{"channel":"tickers","instId":"BTC-USDT"}}'
    )
    assert messages[3].source.startswith("https://www.okx.com/api/v5/public/instruments")


def test_hftbacktest_lines_gzipped_or_not(tmp_path: Path) -> None:
    plain, packed = tmp_path / "spot_btcusdt_x", tmp_path / "spot_btcusdt_y.gz"
    plain.write_text(HFT)
    packed.write_bytes(gzip.compress(HFT.encode()))
    for path in (plain, packed):
        trade, snapshot = read_recording(path)
        assert trade.received_at == datetime(2024, 8, 8, 23, 54, 13, 937085, tzinfo=UTC)
        assert (trade.source, trade.direction) == ("btcusdt@trade", "received")
        assert (snapshot.source, snapshot.direction) == ("", "rest")
    assert list(read_recording(tmp_path / "spot_btcusdt_x")) == list(read_recording(packed))


def test_empty_recording(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_text("")
    assert list(read_recording(path)) == []


def test_seconds_text_is_exact_to_the_microsecond() -> None:
    assert utc_from_seconds_text("1633998512.0633569") == datetime(
        2021, 10, 12, 0, 28, 32, 63356, tzinfo=UTC
    )
    assert utc_from_seconds_text("1633998512") == datetime(2021, 10, 12, 0, 28, 32, tzinfo=UTC)


def test_venue_from_url_and_file_name() -> None:
    assert venue_for_url("wss://stream.binance.com:9443/stream?streams=a@trade") is Binance
    assert venue_for_url("https://fapi.binance.com/fapi/v1/depth?symbol=X") is BinanceFutures
    assert venue_for_url(URL) is Okx
    assert venue_for_url("wss://www.deribit.com/ws/api/v2") is Deribit
    assert venue_for_url("wss://example.com/ws") is None
    assert venue_for_recording("/data/spot_btcusdt_20240808.gz") is Binance
    assert venue_for_recording("usdm_btcusdt_20240808.gz") is BinanceFutures
    assert venue_for_recording("OKX.ws.1.0") is None


def test_registry_names_match_the_venues() -> None:
    assert list(VENUES) == ["binance", "binance_futures", "okx", "deribit"]
    assert all(name == venue.name for name, venue in VENUES.items())
