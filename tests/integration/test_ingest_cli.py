"""The documented commands as a user runs them: ``marketprism simulate`` in one
process, ``marketprism ingest --to-stdout`` pointed at it in another."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

pytestmark = pytest.mark.integration

MARKETPRISM = Path(sys.executable).with_name("marketprism")


def test_ingest_to_stdout_from_the_simulator_with_no_broker() -> None:
    simulator = subprocess.Popen(  # noqa: S603 - our own console script
        [
            str(MARKETPRISM),
            "simulate",
            "--venues",
            "binance",
            "--symbols",
            "BTC-USDT",
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert simulator.stdout is not None
        env = dict(os.environ)
        for _ in range(2):
            name, _, value = simulator.stdout.readline().strip().partition("=")
            assert name.startswith("MARKETPRISM_EXCHANGES__BINANCE__"), name
            env[name] = value
        env["MARKETPRISM_KAFKA__BROKER"] = "kafka://127.0.0.1:1"  # must not be needed
        ingest = subprocess.run(  # noqa: S603
            [str(MARKETPRISM), "ingest", "--exchange", "binance", "--symbols", "BTC-USDT"]
            + ["--channels", "trades,ticker,book", "--to-stdout", "--duration", "4"],
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )
    finally:
        simulator.send_signal(signal.SIGTERM)
        code = simulator.wait(timeout=30)
        if simulator.stdout is not None:
            simulator.stdout.close()
    assert code == 0
    assert ingest.returncode == 0, ingest.stderr.decode()[-2000:]
    records = [orjson.loads(line) for line in ingest.stdout.splitlines()]
    kinds = {record["type"] for record in records}
    assert {"trade", "ticker", "book_snapshot"} <= kinds, kinds
    assert all(r.get("exchange") == "binance" for r in records if r["type"] != "dead_letter")
    trades = [int(r["trade_id"]) for r in records if r["type"] == "trade"]
    assert trades == sorted(set(trades)), "trades arrive once each, in id order"
