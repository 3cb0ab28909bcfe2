"""``marketprism backtest`` on a trades CSV and on recorded sessions, with no broker."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.backtest import add_arguments, run
from models import PriceAlert
from models.codec import decode
from models.exceptions import ConfigError
from tables.tick import from_epoch_us
from tests.shared_data import shared_data_dir
from tests.unit.agents.market import market


def backtest(
    *argv: str, capsys: pytest.CaptureFixture[bytes]
) -> tuple[list[PriceAlert], dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="marketprism backtest")
    add_arguments(parser)
    assert run(parser.parse_args(list(argv))) == 0
    out, err = capsys.readouterr()
    alerts = [decode(line, PriceAlert) for line in out.splitlines()]
    summary = json.loads(err)
    assert isinstance(summary, dict)
    return alerts, summary


def trades_csv(path: Path, jumps: dict[float, float]) -> Path:
    """30 min of BTC-USDT trades (a 0.01 %/s random walk), timestamps alternately
    ISO-8601 and epoch milliseconds, without the optional trade_id."""
    ticks = market(
        "binance:BTC-USDT", seconds=1800, price=60_000.0, sigma=1e-4, seed=3, jumps=jumps
    )
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "exchange", "symbol", "price", "quantity", "side"])
        for i, (_, tick) in enumerate(ticks):
            stamp = from_epoch_us(tick.ts_us).isoformat() if i % 2 else str(tick.ts_us // 1000)
            side = "buy" if tick.buy else "sell"
            writer.writerow([stamp, "binance", "BTC-USDT", tick.price, tick.quantity, side])
    return path


def test_a_scripted_five_percent_jump_gives_exactly_one_firing_alert(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    path = trades_csv(tmp_path / "jump.csv", {1200.0: 0.05})
    alerts, summary = backtest(str(path), "--firing-only", capsys=capsysbinary)
    (alert,) = alerts
    assert (alert.exchange, alert.symbol, alert.status.value) == ("binance", "BTC-USDT", "firing")
    assert alert.severity.value == "critical"
    assert alert.timestamp == from_epoch_us(1_723_161_600_000_000 + 1_201_000_000)
    assert {"jump", "pct_change", "z_score"} <= {f.detector for f in alert.findings}
    assert any(r.startswith("Jump: +5.") for r in alert.reasons)
    assert any(r.startswith("Price change: +") for r in alert.reasons)
    assert any(r.startswith("Z-score: +") for r in alert.reasons)
    assert summary["firing_by_severity"] == {"critical": 1}
    assert summary["late_events"] == 0 and summary["gaps"] == 0
    assert summary["symbols"] == 1 and summary["trades"] > 30_000


def test_a_calm_csv_gives_no_alert(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    alerts, summary = backtest(str(trades_csv(tmp_path / "calm.csv", {})), capsys=capsysbinary)
    assert alerts == []
    assert summary["alerts"] == {} and summary["views"] > 1700


def test_threshold_overrides_reach_the_detectors(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    path = trades_csv(tmp_path / "jump.csv", {1200.0: 0.05})
    alerts, summary = backtest(
        str(path),
        "--jump-sigmas",
        "1000",
        "--short-change-sigmas",
        "1000",
        "--window-change-sigmas",
        "1000",
        "--price-change-pct",
        "50",
        "--z-score",
        "100",
        capsys=capsysbinary,
    )
    assert alerts == []
    assert summary["tuning"]["jump_sigmas"] == 1000.0 and summary["tuning"]["z_score"] == 100.0


def test_a_bad_csv_row_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "timestamp,exchange,symbol,price,quantity,side\n"
        "2024-08-09T00:00:00Z,binance,BTC-USDT,61837.63,0.02,buy\n"
        "2024-08-09T00:00:01Z,binance,BTC-USDT,61837.63,0.02,hold\n"
    )
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with pytest.raises(ConfigError, match=r"bad\.csv:3: side must be buy or sell"):
        run(parser.parse_args([str(path)]))
    path.write_text("timestamp,price,quantity,side\n")
    with pytest.raises(ConfigError, match="missing column"):
        run(parser.parse_args([str(path)]))


def test_recorded_sessions_of_both_formats_run(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    root = shared_data_dir()
    files = [
        root / "binance-hft" / "spot_btcusdt_20240808.gz",
        root / "binance-hft" / "spot_btcusdt_20240809.gz",
        root / "recorded" / "BINANCE_FUTURES.ws.1.0",
        root / "recorded" / "OKX.ws.1.0",
    ]
    alerts, summary = backtest(*map(str, files), capsys=capsysbinary)
    assert summary["trades"] > 20_000 and summary["symbols"] >= 3
    assert summary["late_events"] == 0
    assert summary["windows"]["tumbling_1s"] == summary["views"] > 500
    assert summary["tuning"]["bucket_seconds"] == 1.0
    assert all(alert.exchange in {"binance", "binance_futures", "okx"} for alert in alerts)


def test_hourly_bars_from_a_csv_use_the_hourly_preset(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    rng = np.random.default_rng(2)
    closes = 30_000 * np.exp(np.cumsum(rng.normal(0, 0.005, 80)))
    closes[75:] *= 0.85  # a 15 % crash in the 76th hour
    path = tmp_path / "BTC_USDT-1h.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["date", "open", "high", "low", "close", "volume"])
        for hour, close in enumerate(closes):
            if hour == 40:
                continue  # exchange maintenance: a missing bar
            before = closes[hour - 1] if hour else close
            stamp = from_epoch_us(1_704_067_200_000_000 + hour * 3_600_000_000).isoformat()
            high, low = max(before, close) * 1.001, min(before, close) * 0.999
            writer.writerow([stamp, before, high, low, close, 100.0])
    alerts, summary = backtest(str(path), "--firing-only", capsys=capsysbinary)
    (alert,) = alerts
    assert (alert.exchange, alert.symbol) == ("history", "BTC-USDT")
    assert alert.timestamp == from_epoch_us(1_704_067_200_000_000 + 76 * 3_600_000_000)
    assert any(r.startswith("Jump: -15.") for r in alert.reasons)
    assert summary["tuning"]["bucket_seconds"] == 3600.0 and summary["views"] == 79
    assert summary["gaps"] == 1 and summary["gaps_by_key"] == {"history:BTC-USDT": 1}
