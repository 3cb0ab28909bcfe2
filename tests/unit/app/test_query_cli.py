"""``marketprism query``, ``ohlcv``, ``compact`` and ``views-sql`` end to end on real Parquet."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from app.cli import main
from sinks.base import RollPolicy
from sinks.durable_file import temp_path
from sinks.layout import COMPACTED_NAME, data_files, hour_dirs
from sinks.parquet_writer import ParquetWriter
from sinks.query import PriceStore
from sinks.schemas import SPECS
from tests.shared_data import PROJECT_ROOT
from tests.unit.sinks.factories import HOUR0, trade, trades_over

SYMBOLS = ("BTC-USDT", "ETH-USDT")
TRADES = SPECS["trades"]


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """3 hours x 2 symbols x 20 trades (one every 3 min), in files of 7 rows."""
    root = tmp_path / "parquet"
    sink = ParquetWriter(root, TRADES, RollPolicy(rows=7))
    for offset, record in enumerate(trades_over(3, 20, SYMBOLS)):
        sink.add(record, 0, offset)
    sink.flush()
    return root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_query_prints_an_aligned_table(capsys: pytest.CaptureFixture[str], archive: Path) -> None:
    sql = (
        "SELECT symbol, hour, count(*) AS trades, min(price) AS low FROM trades "
        "WHERE hour < 2 GROUP BY ALL ORDER BY ALL"
    )
    code, out, _ = run(capsys, "query", sql, "--root", str(archive))
    assert code == 0
    assert out.splitlines() == [
        "symbol    hour  trades   low",
        "--------  ----  ------  ----",
        "BTC-USDT     0      20   100",
        "BTC-USDT     1      20   101",
        "ETH-USDT     0      20  1100",
        "ETH-USDT     1      20  1101",
        "(4 rows)",
    ]


def test_query_csv_has_a_header_and_exact_values(
    capsys: pytest.CaptureFixture[str], archive: Path
) -> None:
    sql = (
        "SELECT trade_id, price, quote_quantity, timestamp, is_buyer_maker, NULL AS nothing "
        "FROM trades WHERE symbol = 'ETH-USDT' ORDER BY timestamp LIMIT 2"
    )
    code, out, _ = run(capsys, "query", sql, "--format", "csv", "--root", str(archive))
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows == [
        {
            "trade_id": "2",
            "price": "1100",
            "quote_quantity": "550",
            "timestamp": "2024-08-09T00:00:00+00:00",
            "is_buyer_maker": "false",
            "nothing": "",
        },
        {
            "trade_id": "4",
            "price": "1100.01",
            "quote_quantity": "550.005",
            "timestamp": "2024-08-09T00:03:00+00:00",
            "is_buyer_maker": "false",
            "nothing": "",
        },
    ]


def test_query_json_lines_match_the_price_store(
    capsys: pytest.CaptureFixture[str], archive: Path
) -> None:
    sql = "SELECT * FROM trades WHERE symbol = 'BTC-USDT' AND hour = 2 ORDER BY _offset"
    code, out, _ = run(capsys, "query", sql, "--format", "json", "--root", str(archive))
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    with PriceStore(archive) as store:
        expected = store.table(sql).to_pylist()
    assert len(lines) == len(expected) == 20
    for got, want in zip(lines, expected, strict=True):
        assert set(got) == set(want)
        assert Decimal(got["price"]) == want["price"] and isinstance(got["price"], str)
        assert datetime.fromisoformat(got["timestamp"]) == want["timestamp"]
        assert (got["trade_id"], got["sequence"], got["hour"]) == (
            want["trade_id"],
            want["sequence"],
            2,
        )
        assert got["date"] == "2024-08-09"


def test_query_refuses_anything_but_one_select(
    capsys: pytest.CaptureFixture[str], archive: Path
) -> None:
    target = archive / "copy.csv"
    code, _, err = run(capsys, "query", f"COPY trades TO '{target}'", "--root", str(archive))
    assert code == 1 and "single SELECT" in err
    assert not target.exists()
    code, _, err = run(capsys, "query", "SELEC 1", "--root", str(archive))
    assert code == 1 and "syntax error" in err
    code, _, err = run(
        capsys, "query", "SELECT * FROM read_csv('/etc/passwd')", "--root", str(archive)
    )
    assert code == 1 and "disabled by configuration" in err


def test_query_needs_an_existing_archive(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "query", "SELECT 1", "--root", str(tmp_path / "missing"))
    assert code == 1 and "no Parquet archive" in err


def test_query_reads_sql_from_stdin_through_the_console_command(archive: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "query", "-", "--root", str(archive), "--format", "csv"],
        input="SELECT count(*) AS n FROM trades",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=PROJECT_ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("MARKETPRISM_")},
    )
    assert done.stdout == "n\n120\n"


def test_ohlcv_prints_the_price_stores_bars(
    capsys: pytest.CaptureFixture[str], archive: Path
) -> None:
    argv = ["ohlcv", "BTC-USDT", "--from", "2024-08-09T00:30", "--to", "2024-08-09T01:30"]
    code, out, _ = run(
        capsys, *argv, "--interval", "15m", "--format", "json", "--root", str(archive)
    )
    assert code == 0
    bars = [json.loads(line) for line in out.splitlines()]
    start = HOUR0 + timedelta(minutes=30)
    with PriceStore(archive) as store:
        expected = store.ohlcv("BTC-USDT", start, start + timedelta(hours=1), "15m")
    assert len(bars) == len(expected) == 4
    assert [bar["bucket"] for bar in bars] == [
        "2024-08-09T00:30:00+00:00",
        "2024-08-09T00:45:00+00:00",
        "2024-08-09T01:00:00+00:00",
        "2024-08-09T01:15:00+00:00",
    ]
    for bar, (_, want) in zip(bars, expected.iterrows(), strict=True):
        for column in ("open", "high", "low", "close", "volume", "quote_volume"):
            assert Decimal(bar[column]) == want[column]
        assert bar["trades"] == want["trades"] == 5
        assert bar["exchange"] == "binance"
    assert (bars[2]["open"], bars[2]["close"]) == ("101", "101.04")


def test_ohlcv_times_with_an_offset_are_converted_to_utc(
    capsys: pytest.CaptureFixture[str], archive: Path
) -> None:
    argv = ["ohlcv", "ETH-USDT", "--interval", "1h", "--format", "csv", "--root", str(archive)]
    code, out, _ = run(
        capsys, *argv, "--from", "2024-08-09T02:00+02:00", "--to", "2024-08-09T01:00Z"
    )
    assert code == 0
    [bar] = list(csv.DictReader(io.StringIO(out)))
    assert (bar["bucket"], bar["trades"], bar["open"]) == (
        "2024-08-09T00:00:00+00:00",
        "20",
        "1100",
    )


def test_ohlcv_table_and_bad_arguments(capsys: pytest.CaptureFixture[str], archive: Path) -> None:
    argv = ["ohlcv", "BTC-USDT", "--from", "2024-08-09T00:00", "--to", "2024-08-09T00:06"]
    code, out, _ = run(
        capsys, *argv, "--interval", "3m", "--exchange", "binance", "--root", str(archive)
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "exchange",
        "bucket",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "quote_volume",
        "trades",
        "vwap",
    ]
    assert lines[2].split()[:4] == ["binance", "2024-08-09T00:00:00+00:00", "100", "100"]
    assert lines[-1] == "(2 rows)"
    with pytest.raises(SystemExit) as bad_interval:
        main([*argv[:-4], "--from", "2024-08-09", "--to", "2024-08-10", "--interval", "1 minute"])
    assert bad_interval.value.code == 2
    with pytest.raises(SystemExit) as bad_time:
        main(["ohlcv", "BTC-USDT", "--from", "yesterday", "--to", "2024-08-10"])
    assert bad_time.value.code == 2
    code, _, err = run(
        capsys,
        *argv[:2],
        "--from",
        "2024-08-09T01:00",
        "--to",
        "2024-08-09T00:00",
        "--root",
        str(archive),
    )
    assert code == 1 and "must be after" in err


def test_compact_keeps_row_counts_and_prints_a_summary(
    capsys: pytest.CaptureFixture[str], archive: Path
) -> None:
    with PriceStore(archive) as store:
        before = store.sql("SELECT * FROM trades ORDER BY _offset")
    files_before = len(list(archive.rglob("*.parquet")))
    code, out, _ = run(capsys, "compact", "--root", str(archive))
    assert code == 0
    summary = json.loads(out)
    assert summary == {
        "root": str(archive),
        "retention_days": None,
        "hours_compacted": 6,
        "files_in": files_before,
        "files_removed": files_before - 6,
        "rows_before": 120,
        "rows_after": 120,
        "temp_files_cleaned": 0,
        "hours_expired": 0,
    }
    for directory in hour_dirs(archive, TRADES):
        assert [p.name for p in data_files(directory)] == [COMPACTED_NAME]
    with PriceStore(archive) as store:
        after = store.sql("SELECT * FROM trades ORDER BY _offset")
    assert after.equals(before)
    code, out, _ = run(capsys, "compact", "--root", str(archive))
    assert json.loads(out)["hours_compacted"] == 0


def test_compact_applies_retention_and_removes_stale_temp_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    old, recent, current = now - timedelta(days=8), now - timedelta(days=2), now
    sink = ParquetWriter(tmp_path, TRADES)
    for offset, at in enumerate([old, old, recent, current]):
        sink.add(trade(offset, at=at), 0, offset)
    sink.flush()
    old_dir, recent_dir, current_dir = hour_dirs(tmp_path, TRADES)
    stale, fresh = temp_path(recent_dir / "a.parquet"), temp_path(current_dir / "b.parquet")
    for path in (stale, fresh):
        path.write_bytes(b"partial")
    hours_ago = (now - timedelta(hours=3)).timestamp()
    os.utime(stale, (hours_ago, hours_ago))

    code, out, _ = run(capsys, "compact", "--root", str(tmp_path), "--retention-days", "7")

    assert code == 0
    summary = json.loads(out)
    assert (summary["hours_expired"], summary["temp_files_cleaned"]) == (1, 1)
    assert summary["retention_days"] == 7
    assert summary["hours_compacted"] == 1  # the recent hour; the current one is still open
    assert not old_dir.exists() and recent_dir.exists() and current_dir.exists()
    assert not stale.exists() and fresh.exists()
    with PriceStore(tmp_path) as store:
        assert store.sql("SELECT count(*) AS n FROM trades").n[0] == 2


def test_compact_rejects_a_retention_below_one_day(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["compact", "--root", str(tmp_path), "--retention-days", "0"])
    assert exc.value.code == 2


def test_views_sql_writes_a_script_for_the_duckdb_client(
    capsys: pytest.CaptureFixture[str], archive: Path, tmp_path: Path
) -> None:
    code, out, _ = run(capsys, "views-sql", "--root", str(archive))
    assert code == 0
    default = Path(out.strip())
    assert default == archive / "views.sql"
    target = tmp_path / "elsewhere" / "marketprism.sql"
    assert main(["views-sql", "--root", str(archive), "-o", str(target)]) == 0
    capsys.readouterr()
    code, out, _ = run(capsys, "views-sql", "--root", str(archive), "-o", "-")
    assert out == default.read_text() == target.read_text()
    con = duckdb.connect()  # what `duckdb -init views.sql` runs first
    con.execute(target.read_text())
    assert con.execute("SELECT count(*) FROM trades WHERE hour = 1").fetchone() == (40,)
    assert con.execute("SELECT count(*) FROM tickers").fetchone() == (0,)
