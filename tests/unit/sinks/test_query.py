"""PriceStore: views, pruning, exact results, OHLCV and the lockdown."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from models import Side
from sinks.base import RollPolicy
from sinks.parquet_writer import ParquetWriter
from sinks.query import PriceStore, parse_interval
from sinks.schemas import SPECS
from sinks.views import VIEWS_FILE, write_views_file
from tests.unit.models.samples import every_model
from tests.unit.sinks.factories import HOUR0, trade, trades_over

SYMBOLS = ("BTC-USDT", "ETH-USDT")


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """3 hours x 2 symbols x 20 trades, in small files."""
    sink = ParquetWriter(tmp_path, SPECS["trades"], RollPolicy(rows=7))
    for offset, record in enumerate(trades_over(3, 20, SYMBOLS)):
        sink.add(record, 0, offset)
    sink.flush()
    return tmp_path


@pytest.fixture
def store(archive: Path) -> Iterator[PriceStore]:
    with PriceStore(archive) as price_store:
        yield price_store


def test_one_symbol_hour_reads_only_that_hours_files(store: PriceStore, archive: Path) -> None:
    hour = HOUR0 + timedelta(hours=1)
    hour_dir = archive / "trades/exchange=binance/symbol=BTC-USDT/date=2024-08-09/hour=01"
    wanted = sorted(str(p) for p in hour_dir.glob("*.parquet"))
    total = len(list(archive.rglob("*.parquet")))
    query = "SELECT * FROM trades WHERE symbol = 'BTC-USDT' AND date = '2024-08-09' AND hour = 1"
    profile = store.explain_analyze(query)
    assert f"Scanning Files: {len(wanted)}/{total}" in profile
    assert sorted(re.findall(r"/\S+?\.parquet", profile)) == wanted
    # get_price_data prunes the same way from a time range.
    assert len(store.get_price_data("BTC-USDT", hour, hour + timedelta(hours=1))) == 20


def test_a_pruned_symbol_hour_equals_the_full_scan(store: PriceStore, archive: Path) -> None:
    pruned_query = (
        "SELECT * EXCLUDE (date, hour) FROM trades WHERE symbol = 'BTC-USDT' "
        "AND date = '2024-08-09' AND hour = 1 ORDER BY _partition, _offset"
    )
    full_query = "SELECT * EXCLUDE (date, hour) FROM trades ORDER BY _partition, _offset"
    hour_dir = archive / "trades/exchange=binance/symbol=BTC-USDT/date=2024-08-09/hour=01"
    wanted = len(list(hour_dir.glob("*.parquet")))
    total = len(list(archive.rglob("*.parquet")))
    assert re.findall(r"Total Files Read: (\d+)", store.explain_analyze(pruned_query)) == [
        str(wanted)
    ]
    assert re.findall(r"Total Files Read: (\d+)", store.explain_analyze(full_query)) == [str(total)]
    # The full scan, filtered on stored columns only (no partition column involved).
    full = store.table(full_query)
    start = HOUR0 + timedelta(hours=1)
    stamps = full["timestamp"]
    kind = stamps.type
    keep = pc.and_(
        pc.equal(full["symbol"].cast(pa.string()), "BTC-USDT"),
        pc.and_(
            pc.greater_equal(stamps, pa.scalar(start, kind)),
            pc.less(stamps, pa.scalar(start + timedelta(hours=1), kind)),
        ),
    )
    pruned = store.table(pruned_query)
    assert pruned.num_rows == 20 and wanted < total
    assert pruned.to_pylist() == full.filter(keep).to_pylist()


def test_price_data_equals_a_full_scan(store: PriceStore) -> None:
    start, end = HOUR0 + timedelta(minutes=30), HOUR0 + timedelta(hours=2, minutes=10)
    got = store.get_price_data("ETH-USDT", start, end)
    full = store.sql("SELECT * FROM trades ORDER BY timestamp, _offset")
    mask = (full.symbol == "ETH-USDT") & (full.timestamp >= start) & (full.timestamp < end)
    expected = full[mask].reset_index(drop=True)
    assert len(got) == 10 + 20 + 4  # 30 min of hour 0, hour 1, 10 min of hour 2 (every 3 min)
    assert got.trade_id.tolist() == expected.trade_id.tolist()
    assert got.price.tolist() == expected.price.tolist()


def test_decimals_come_back_exactly(tmp_path: Path) -> None:
    sink = ParquetWriter(tmp_path, SPECS["trades"])
    sink.add(trade(1, price="61837.63000001", quantity="0.0000000001"), 0, 0)
    sink.flush()
    with PriceStore(tmp_path) as store:
        row = store.get_price_data("BTC-USDT", HOUR0, HOUR0 + timedelta(hours=1)).iloc[0]
    assert row.price == Decimal("61837.63000001")
    assert row.quantity == Decimal("0.0000000001")
    assert row.quote_quantity == Decimal("0.000006183763000001")
    assert isinstance(row.price, Decimal)


def test_ohlcv_matches_a_hand_computed_bar(tmp_path: Path) -> None:
    sink = ParquetWriter(tmp_path, SPECS["trades"])
    ticks = [  # (second, price, quantity) over two one-minute bars, one of them in hour 1
        (3599, "10", "1"),
        (3600, "12", "2"),
        (3610, "9", "1"),
        (3630, "11", "1"),
        (3660, "20", "0.5"),
    ]
    for i, (second, price, quantity) in enumerate(ticks):
        at = HOUR0 + timedelta(seconds=second)
        sink.add(trade(i, at=at, price=price, quantity=quantity, side=Side.SELL), 0, i)
    sink.flush()
    start = HOUR0 + timedelta(hours=1)
    with PriceStore(tmp_path) as store:
        bars = store.ohlcv("BTC-USDT", start, start + timedelta(minutes=2), "1m")
    assert bars.bucket.tolist() == [pd.Timestamp(start), pd.Timestamp(start + timedelta(minutes=1))]
    first = bars.iloc[0]
    assert (first.open, first.high, first.low, first.close) == (12, 12, 9, 11)
    assert (first.volume, first.quote_volume, first.trades) == (4, 44, 3)
    assert first.vwap == pytest.approx(11.0)
    assert bars.iloc[1].open == bars.iloc[1].close == Decimal("20")


def test_empty_data_types_have_typed_views(tmp_path: Path) -> None:
    with PriceStore(tmp_path) as store:
        for spec in SPECS.values():
            frame = store.sql(f"SELECT * FROM {spec.directory}")  # noqa: S608
            assert frame.empty
            assert list(frame.columns) == [*spec.schema.names, "date", "hour"]


def test_every_model_is_queryable(tmp_path: Path) -> None:
    for data_type, record in every_model().items():
        sink = ParquetWriter(tmp_path, SPECS[data_type])
        sink.add(record, 0, 0)
        sink.flush()
    with PriceStore(tmp_path) as store:
        for spec in SPECS.values():
            assert len(store.sql(f"SELECT * FROM {spec.directory}")) == 1  # noqa: S608


def test_only_a_single_select_is_accepted(store: PriceStore, archive: Path) -> None:
    for statement in (
        f"COPY trades TO '{archive}/x.csv'",
        "SET enable_external_access = true",
        "SELECT 1; SELECT 2",
        "CREATE TABLE t AS SELECT 1",
    ):
        with pytest.raises(Exception, match="single SELECT"):
            store.sql(statement)


def test_files_outside_the_root_are_unreadable(store: PriceStore) -> None:
    for path in ("/etc/passwd", f"{store.root}/../outside.csv"):
        with pytest.raises(Exception, match="disabled by configuration"):
            store.sql(f"SELECT * FROM read_csv('{path}')")  # noqa: S608


def test_views_file_works_in_a_plain_duckdb_client(archive: Path) -> None:
    path = write_views_file(archive)
    assert path == archive / VIEWS_FILE
    con = duckdb.connect()
    con.execute(path.read_text())
    assert con.execute("SELECT count(*) FROM trades").fetchone() == (120,)
    assert con.execute("SELECT count(*) FROM alerts").fetchone() == (0,)


@pytest.mark.parametrize(
    ("text", "seconds"), [("1m", 60), ("15s", 15), ("4h", 14_400), (timedelta(days=1), 86_400)]
)
def test_parse_interval(text: str | timedelta, seconds: int) -> None:
    assert parse_interval(text) == seconds


def test_bad_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="not like"):
        parse_interval("1 minute")


def test_refresh_after_lockdown_picks_up_a_new_data_type(tmp_path: Path) -> None:
    with PriceStore(tmp_path) as store:
        assert store.sql("SELECT count(*) AS n FROM trades").n[0] == 0
        sink = ParquetWriter(tmp_path, SPECS["trades"])
        sink.add(trade(1), 0, 0)
        sink.flush()
        store.refresh()
        assert store.sql("SELECT count(*) AS n FROM trades").n[0] == 1
