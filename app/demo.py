"""``marketprism demo``: run what exists of the pipeline once and summarize it.

Today this starts the local Kafka broker (when none answers), a Faust worker,
pushes a burst of normalized trades through the trades topic and reads them
back. Ingest from the exchange simulator, analytics, alerts and Parquet
arrive with their issues; the summary says so rather than pretending.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from app.settings import Settings, load_settings
from app.topics import ensure_topics, topic_name
from models import InstrumentType, Side, Trade, decode, encode
from models.exceptions import MarketPrismError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NOT_YET = (
    "ingest from the exchange simulator inside the demo (run `marketprism simulate` and "
    "`marketprism ingest` yourself meanwhile)",
    "analytics, alerts and Parquet in the summary (the worker now runs the window, "
    "detector and sink agents; `marketprism query` reads what they wrote)",
    "health endpoints and the live dashboard",
)


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _ensure_broker(settings: Settings) -> list[str] | None:
    """Start the local broker if the configured one does not answer.

    Returns the scripts/kafka arguments to stop it with, or None if it was
    already running (then we leave it running).
    """
    host, _, port = settings.kafka.bootstrap_servers[0].rpartition(":")
    if _port_open(host, int(port)):
        print(f"demo: using the Kafka broker already on {host}:{port}")
        return None
    if host not in {"127.0.0.1", "localhost"}:
        raise MarketPrismError(f"Kafka broker {host}:{port} does not answer")
    args = [str(PROJECT_ROOT / "scripts" / "kafka"), "start", "--port", port]
    subprocess.run(args, check=True)  # noqa: S603 - our own script
    return [args[0], "stop", "--port", port]


def _wait_for_worker(worker: subprocess.Popen[bytes], settings: Settings, timeout: float) -> None:
    url = f"http://{settings.web.bind}:{settings.web.port}/"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise MarketPrismError(f"the worker exited with code {worker.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - our own loopback URL
                return
        except OSError:
            time.sleep(0.5)
    raise MarketPrismError(f"the worker did not answer on {url} within {timeout:.0f}s")


def _demo_trades(count: int) -> list[Trade]:
    start = datetime.now(UTC)
    price = Decimal("61837.63")
    trades = []
    for i in range(count):
        price += Decimal("0.01") * ((i * 7) % 5 - 2)
        trades.append(
            Trade(
                exchange="binance",
                symbol="BTC-USDT",
                native_symbol="BTCUSDT",
                instrument_type=InstrumentType.SPOT,
                timestamp=start + timedelta(milliseconds=i),
                collected_at=start + timedelta(milliseconds=i, microseconds=800),
                trade_id=str(1_000_000 + i),
                price=price,
                quantity=Decimal("0.015"),
                side=Side.BUY if i % 3 else Side.SELL,
            )
        )
    return trades


async def _roundtrip(settings: Settings, trades: list[Trade]) -> int:
    await ensure_topics(settings)
    topic = topic_name(settings.topics, "trades")
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka.bootstrap_servers)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka.bootstrap_servers,
        auto_offset_reset="latest",
    )
    await consumer.start()
    await producer.start()
    try:
        await consumer.seek_to_end()
        for trade in trades:
            await producer.send(topic, encode(trade), key=trade.key.encode())
        await producer.flush()
        wanted = {t.trade_id for t in trades}
        seen: set[str] = set()
        deadline = time.monotonic() + 30
        while seen != wanted and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=1000)
            for messages in batch.values():
                seen.update(decode(m.value or b"", Trade).trade_id for m in messages)
        return len(seen & wanted)
    finally:
        await producer.stop()
        await consumer.stop()


def run_demo(duration: float) -> int:
    settings = load_settings()
    stop_broker = _ensure_broker(settings)
    worker = subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "app.cli", "worker"],
        cwd=PROJECT_ROOT,
    )
    try:
        _wait_for_worker(worker, settings, timeout=90)
        print(f"demo: worker up, web on http://{settings.web.bind}:{settings.web.port}/")
        trades = _demo_trades(1000)
        received = asyncio.run(_roundtrip(settings, trades))
        print(f"demo: {received}/{len(trades)} trades went through Kafka and came back intact")
        time.sleep(max(0.0, duration))
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        if stop_broker:
            subprocess.run(stop_broker, check=False)  # noqa: S603 - our own script
    print("demo: not there yet: " + "; ".join(NOT_YET))
    return 0 if received == len(trades) else 1
