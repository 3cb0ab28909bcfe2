"""The windows and detector agents in a real worker, on the real broker and RocksDB.

Every test compares what the worker published with :class:`WindowProcessor` run
in-process over the same trades, partition by partition as the broker placed
them: same windows (no hole, no double count), same alerts.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from agents.detection.engine import DetectionEngine
from agents.detection.tuning import Tuning
from agents.processing import TradeEntry, WindowProcessor
from app.settings import Settings
from app.topics import topic_name
from models import DeadLetter, GapEvent, PriceAlert, Trade, WindowStats, decode_any
from models.codec import encode
from models.exceptions import DecodeError
from tables.clock import ManualClock
from tables.pipeline import WindowPlan
from tables.tick import epoch_us
from tests.conftest import PROJECT_ROOT, Broker
from tests.integration.kafka_reading import read_topic
from tests.integration.trade_feed import produce, synthetic_trades, worker_environment
from tests.integration.worker_process import WorkerProcess
from tests.waiting import wait_for

pytestmark = pytest.mark.integration

JUMP_AT = 600.0


@dataclass
class Produced:
    """The trades as the broker placed them."""

    by_partition: dict[int, list[TradeEntry]]

    @property
    def count(self) -> int:
        return sum(len(entries) for entries in self.by_partition.values())

    def last_offset(self, key: str) -> int:
        return max(e.offset for part in self.by_partition.values() for e in part if e.key == key)


def expected(settings: Settings, produced: Produced) -> tuple[set[bytes], set[tuple[str, str]]]:
    """Windows and (alert id, status) the worker must publish, computed in-process."""
    plan, config = Tuning.from_settings(settings.windows, settings.detector).build(
        WindowPlan.from_settings(settings.windows)
    )
    clock = ManualClock()
    processor = WindowProcessor(plan, DetectionEngine(config), clock=clock)
    windows: set[bytes] = set()
    alerts: set[tuple[str, str]] = set()
    for partition, entries in sorted(produced.by_partition.items()):
        processor.restore_partition(partition, [])
        out = processor.process(partition, entries)
        windows.update(window_id(stats) for stats in out.analytics)
        alerts.update((a.alert_id, str(a.status)) for a in out.alerts)
    return windows, alerts


def closed_by_markers(records: list[object], produced: Produced) -> set[bytes]:
    """The windows the markers' event time closed (the worker's idle timer may close
    the markers' own windows too, by the wall clock: those are left out)."""
    last_us = max(epoch_us(e.trade.timestamp) for p in produced.by_partition.values() for e in p)
    return {
        window_id(stats)
        for stats in records
        if isinstance(stats, WindowStats) and epoch_us(stats.window_end) < last_us
    }


def differences(got: set[bytes], want: set[bytes]) -> list[tuple[object, object, object]]:
    """(window, trades published, trades expected) for every window that differs."""
    by_id_got = {tuple(orjson.loads(w)[:4]): orjson.loads(w)[4] for w in got}
    by_id_want = {tuple(orjson.loads(w)[:4]): orjson.loads(w)[4] for w in want}
    ids = sorted(set(by_id_got) | set(by_id_want), key=str)
    return [
        (i, by_id_got.get(i), by_id_want.get(i))
        for i in ids
        if by_id_got.get(i) != by_id_want.get(i)
    ][:20]


def window_id(stats: WindowStats) -> bytes:
    """A window's identity and its trade-derived content (not the float statistics)."""
    return orjson.dumps(
        [
            stats.key,
            stats.window_kind,
            stats.window_seconds,
            stats.window_start.isoformat(),
            stats.trade_count,
            str(stats.volume),
            str(stats.open),
            str(stats.close),
        ]
    )


def published(
    broker: Broker, settings: Settings, data_type: str, expect: int, worker: WorkerProcess
) -> list[object]:
    """A topic's records once ``expect`` are there, or all there are after 420 s (the
    comparison then shows what is missing; a loaded machine needs minutes to catch up
    after a kill); fails at once if the worker died."""
    topic = topic_name(settings.topics, data_type)
    deadline = time.monotonic() + 420
    while True:
        assert worker.alive(), worker.logs()
        last_try = time.monotonic() > deadline
        try:
            records = asyncio.run(
                read_topic(broker.bootstrap, topic, expect=0 if last_try else expect, within=10)
            )
        except TimeoutError:
            continue
        return [decode_any(record.value) for record in records]


@pytest.fixture
def worker_env(kafka_broker: Broker, tmp_path: Path) -> tuple[dict[str, str], Settings]:
    return worker_environment(kafka_broker, tmp_path)


def test_a_five_percent_jump_raises_exactly_one_alert_and_a_calm_market_none(
    kafka_broker: Broker, worker_env: tuple[dict[str, str], Settings], tmp_path: Path
) -> None:
    env, settings = worker_env
    keys = {"binance:BTC-USDT": {JUMP_AT: 0.05}, "okx:ETH-USDT": {}}
    trades = synthetic_trades(keys)
    trades_topic = topic_name(settings.topics, "trades")
    bad = asyncio.run(produce_bad(kafka_broker, trades_topic, trades[0]))
    produced = Produced(asyncio.run(produce(kafka_broker, trades_topic, trades)))
    want_windows, want_alerts = expected(settings, produced)
    worker = WorkerProcess(env, tmp_path)
    worker.start()
    try:
        alerts = published(kafka_broker, settings, "alerts", len(want_alerts), worker)
        analytics = published(kafka_broker, settings, "analytics", len(want_windows), worker)
        letters = published(kafka_broker, settings, "dead_letters", 2 * len(bad), worker)
    finally:
        assert worker.stop() == 0, worker.logs()
    ours = {  # the sinks' own letters of the same records say "parquet sink: ..."
        (letter.partition, letter.offset): (letter.reason, letter.raw)
        for letter in letters
        if isinstance(letter, DeadLetter) and not letter.reason.startswith("parquet sink")
    }
    assert ours == bad
    price_alerts = [a for a in alerts if isinstance(a, PriceAlert)]
    firing = [a for a in price_alerts if a.status == "firing"]
    assert len(firing) == 1, firing
    alert = firing[0]
    assert alert.key == "binance:BTC-USDT"
    assert alert.severity in {"high", "critical"}
    assert alert.reasons and alert.findings
    jump_time = trades[0].timestamp.timestamp() + JUMP_AT  # first trade is within 1 s of start
    assert 0 <= alert.timestamp.timestamp() - jump_time <= 61
    assert {(a.alert_id, str(a.status)) for a in price_alerts} == want_alerts
    got = closed_by_markers(analytics, produced)
    extra, missing = sorted(got - want_windows), sorted(want_windows - got)
    assert not extra and not missing, (len(extra), len(missing), extra[:3], missing[:3])


async def produce_bad(
    broker: Broker, topic: str, like: Trade
) -> dict[tuple[int, int], tuple[str, str]]:
    """Records on the trades topic that are no trade: by (partition, offset), the reason
    and raw text of the dead letter the windows agent must write for each."""
    invalid = orjson.loads(encode(like)) | {"price": "0"}
    gap = GapEvent(
        exchange=like.exchange,
        symbol=like.symbol,
        channel="trades",
        cause="sequence_gap",
        timestamp=like.timestamp,
    )
    payloads = [b'{"type": "trade", "exchange": ', orjson.dumps(invalid), encode(gap)]
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
    await producer.start()
    try:
        sent = [await producer.send_and_wait(topic, p, key=like.key.encode()) for p in payloads]
    finally:
        await producer.stop()
    letters = {}
    for payload, meta in zip(payloads, sent, strict=True):
        try:
            reason = f"not a trade: {type(decode_any(payload)).__name__}"
            raw = encode(decode_any(payload)).decode()
        except DecodeError as exc:
            reason, raw = exc.reason, payload.decode()
        letters[(meta.partition, meta.offset)] = (reason, raw)
    return letters


@pytest.mark.slow
def test_a_killed_worker_resumes_with_no_hole_and_no_double_count(
    kafka_broker: Broker, worker_env: tuple[dict[str, str], Settings], tmp_path: Path
) -> None:
    env, settings = worker_env
    keys = {f"binance:S{n}-USDT": ({JUMP_AT: 0.05} if n == 0 else {}) for n in range(12)}
    trades = synthetic_trades(keys, seed=5)
    produced = Produced(
        asyncio.run(produce(kafka_broker, topic_name(settings.topics, "trades"), trades))
    )
    want_windows, want_alerts = expected(settings, produced)
    watched = "binance:S3-USDT"
    last = produced.last_offset(watched)
    worker = WorkerProcess(env, tmp_path)
    kills = []
    try:
        for fraction in (0.25, 0.6):
            worker.start()

            def progress(fraction: float = fraction) -> int | None:
                status, body = worker.get(f"/windows/{watched}/")
                offset = body.get("offset", -1) if status == 200 and body else -1
                return offset if offset >= fraction * last else None

            seen = wait_for(progress, within=240, what=f"{watched} processed to {fraction:.0%}")
            worker.kill()
            kills.append(seen / last)
        worker.start()
        analytics = published(kafka_broker, settings, "analytics", len(want_windows), worker)
        alerts = published(kafka_broker, settings, "alerts", len(want_alerts), worker)
    finally:
        worker.kill()
    got = closed_by_markers(analytics, produced)
    assert got == want_windows, (kills, differences(got, want_windows))
    keys_of = [orjson.loads(window_id(s))[:4] for s in analytics if isinstance(s, WindowStats)]
    duplicates = len(keys_of) - len({tuple(k) for k in keys_of})
    assert {(a.alert_id, str(a.status)) for a in alerts if isinstance(a, PriceAlert)} == want_alerts
    print(f"killed at {kills}; {duplicates} windows published twice (identical)")


def test_two_workers_each_answer_for_every_symbol(
    kafka_broker: Broker, worker_env: tuple[dict[str, str], Settings], tmp_path: Path
) -> None:
    env, settings = worker_env
    keys: dict[str, dict[float, float]] = {f"okx:K{n}-USDT": {} for n in range(8)}
    trades = synthetic_trades(keys, seed=9)
    produced = Produced(
        asyncio.run(produce(kafka_broker, topic_name(settings.topics, "trades"), trades))
    )
    workers = [
        WorkerProcess(
            {**env, "MARKETPRISM_STORE__DATA_DIR": str(tmp_path / f"store-{n}")},
            tmp_path,
            name=f"w{n}",
        )
        for n in range(2)
    ]
    for worker in workers:
        worker.start()
    try:
        why: list[object] = []
        all_keys = {trade.key for trade in trades}  # with the markers

        def all_answer() -> bool:
            why.clear()
            for worker in workers:
                for key in keys:
                    status, body = worker.get(f"/windows/{key}/")
                    if status != 200 or body["offset"] != produced.last_offset(key):
                        why.append((worker.name, key, status, body))
                        return False
                status, body = worker.get("/symbols/")
                if status != 200 or {row["key"] for row in body["symbols"]} != all_keys:
                    why.append((worker.name, "symbols", status, body and len(body["symbols"])))
                    return False
            return True

        try:
            wait_for(all_answer, within=240, what="both workers answer for all keys")
        except TimeoutError as exc:
            raise AssertionError(str(why)[:2000]) from exc
        served = {workers[0].get(f"/windows/{key}/")[1]["served_by"] for key in keys}
        assert len(served) == 2, "the keys should be spread over both workers"
        for worker in workers:
            status, body = worker.get("/alerts/")
            assert status == 200 and body["active"] == []
            assert worker.alive(), worker.logs()
    finally:
        for worker in workers:
            worker.stop()


def test_the_processing_benchmark_runs_both_sides_on_the_broker(kafka_broker: Broker) -> None:
    """bench/processing.py, tiny: every trade processed by our worker and by the naive
    agent, the analytics on the topic, and the memory measure (its speed is not tested)."""
    bench = PROJECT_ROOT / "bench" / "processing.py"
    args = ["--trades", "3000", "--symbols", "10", "--partitions", "2", "--rate", "100"]
    done = subprocess.run(  # noqa: S603
        [sys.executable, str(bench), "--bootstrap", kafka_broker.bootstrap, *args]
        + ["--memory-symbols", "20"],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    report = json.loads(done.stdout)
    assert report["trades"] == 3000 and sum(report["per_partition"]) == 3000
    assert report["broker"] == kafka_broker.bootstrap
    ours, naive = report["ours"], report["naive"]
    assert naive["table_writes"] == 3000
    assert ours["windows"]["tumbling_1s"] >= 10 * 20  # 30 s of event time, 5 s of grace
    assert ours["analytics_on_topic"] >= ours["analytics_records"] > 0
    assert ours["events_per_s"] > 0 and naive["events_per_s"] > 0
    assert report["ratio"] == pytest.approx(ours["events_per_s"] / naive["events_per_s"], abs=0.02)
    memory = report["memory"]
    assert memory["symbols"] == 20 and memory["windows"]["tumbling_1s"] == 20 * 324
    assert report["rss_mb_per_1000_symbols"] == memory["rss_mb_per_1000_symbols"] > 0
    assert memory["table_mb_per_1000_symbols"] > 0
