"""`marketprism demo`: the whole pipeline on the simulator, against the test broker.

A short run must reach its summary with every stage moving data (the scripted
5 % jump included, so an alert fires), and stop everything it started; Ctrl-C
ends a long run cleanly with the summary too.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from app.demo.processes import port_open
from app.demo.run import default_recording
from tests.conftest import PROJECT_ROOT, Broker, free_port
from tests.waiting import wait_for

pytestmark = pytest.mark.integration


def demo_env(broker: Broker, root: Path) -> dict[str, str]:
    run = uuid.uuid4().hex[:10]
    return {
        **os.environ,
        "MARKETPRISM_APP_ID": f"test-demo-{run}",
        "MARKETPRISM_KAFKA__BROKER": broker.url,
        "MARKETPRISM_TOPICS__PREFIX": f"test-{run}.",
        "MARKETPRISM_STORE__DATA_DIR": str(root / "worker"),
        "MARKETPRISM_WEB__PORT": str(free_port()),
        "MARKETPRISM_INGEST__METRICS_PORT": str(free_port()),
    }


def demo_command(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "app.cli", "demo", "--log-dir", str(root / "logs"), *args]


def test_a_short_demo_moves_data_through_every_stage(kafka_broker: Broker, tmp_path: Path) -> None:
    env = demo_env(kafka_broker, tmp_path)
    result = subprocess.run(
        demo_command(tmp_path, "--duration", "40"),
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = result.stdout
    assert result.returncode == 0, out[-4000:] + result.stderr[-3000:]
    assert "scripted: BTC-USDT jump 5% at 25s" in out
    assert "demo: ALERT firing" in out and "BTC-USDT" in out
    for stage in ("exchanges -> ingest -> Kafka", "Kafka -> windows", "Kafka -> Parquet"):
        assert f"[ok] {stage}" in out
    assert "[ok] windows -> detector -> alerts: " in out
    assert "Query 1: trades of this run per market" in out
    assert "Query 2: PriceStore.ohlcv('BTC-USDT'" in out
    trades = list((tmp_path / "logs").glob("parquet-*/trades/**/*.parquet"))
    assert trades, "the demo wrote no trade file"
    if default_recording() is not None:  # the real BTCUSDT session, replayed first
        assert "replayed spot_btcusdt_20240808.gz: 41249 messages" in out
    # Everything it started is stopped: the worker's web port and ingest's are closed.
    for name in ("MARKETPRISM_WEB__PORT", "MARKETPRISM_INGEST__METRICS_PORT"):
        assert not port_open("127.0.0.1", int(env[name]))
    # Its topics (a namespace of its own under the configured prefix) are gone.
    prefix = env["MARKETPRISM_TOPICS__PREFIX"]
    assert asyncio.run(topics_with(kafka_broker, prefix)) == []
    assert not list((tmp_path / "logs").glob("worker-*"))


async def topics_with(broker: Broker, prefix: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
    await admin.start()
    try:
        return [t for t in await admin.list_topics() if t.startswith(prefix)]
    finally:
        await admin.close()


def windows_shown(log: Path) -> bool:
    """A progress line shows window results (so every stage has moved data)."""
    counts = re.findall(r"\| worker: [\d,]+ trades, ([\d,]+) windows", log.read_text())
    return any(int(count.replace(",", "")) > 0 for count in counts)


def test_ctrl_c_ends_the_demo_with_its_summary(kafka_broker: Broker, tmp_path: Path) -> None:
    env = demo_env(kafka_broker, tmp_path)
    log = tmp_path / "demo.out"
    with log.open("w") as out:
        demo = subprocess.Popen(
            demo_command(tmp_path, "--duration", "600", "--no-replay"),
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            wait_for(lambda: windows_shown(log), within=180, what="a progress line with windows")
            demo.send_signal(signal.SIGINT)
            code = demo.wait(timeout=120)
        finally:
            if demo.poll() is None:
                demo.kill()
                demo.wait()
    text = log.read_text()
    assert "MarketPrism demo summary" in text, text[-4000:]
    assert "no scripted move was due" in text
    assert code == 0, text[-4000:]
    for name in ("MARKETPRISM_WEB__PORT", "MARKETPRISM_INGEST__METRICS_PORT"):
        assert not port_open("127.0.0.1", int(env[name]))
