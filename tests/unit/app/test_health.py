"""The readiness model, the ingest checks, and the worker's pages and crontab (no broker)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from app.health.ingest_health import IngestHealth, connection_checks, producer_check
from app.health.model import Check, Readiness, to_json
from app.main import build
from app.scheduler import Cron
from app.settings import Settings, load_settings
from ingest.binance import Binance
from ingest.connection import ConnectionStats
from ingest.feed import VenueFeed
from ingest.producer import ProducerStats
from models import Record
from models.exceptions import ConfigError

NOW = datetime(2024, 8, 9, 12, 0, tzinfo=UTC)


def test_readiness_is_every_check_ok_and_names_the_reasons() -> None:
    ok = Readiness.of([Check.passed("recovery", generation=3)])
    assert (ok.ready, ok.http_status) == (True, 200)
    assert ok.document() == {
        "ready": True,
        "checks": [{"name": "recovery", "ok": True, "detail": {"generation": 3}}],
    }
    failing = Readiness.of([*ok.checks, Check.failed("trades sink", "trades sink: failing")])
    assert (failing.ready, failing.http_status) == (False, 503)
    document = orjson.loads(to_json(failing.document()))
    assert document["reasons"] == ["trades sink: failing"]
    assert [check["ok"] for check in document["checks"]] == [True, False]


class FakeConnection:
    """What the checks read of an ``ingest.connection.Connection``."""

    def __init__(self, silences: dict[str, float], limits: dict[str, float], **stats: Any):
        self.name = "okx#1"
        self.symbols = ["BTC-USDT"]
        self.channels = list(silences)
        self.stats = ConnectionStats(**stats)
        self._silences, self._limits = silences, limits

    def silences(self) -> dict[str, float]:
        return self._silences if self.stats.connected else {}

    def stale_after(self, channel: str) -> float | None:
        return self._limits.get(channel)


def test_a_channel_is_stale_past_the_watchdog_threshold_and_liquidations_never() -> None:
    limits = {"book": 15.0, "trades": 600.0}  # no threshold for liquidations
    quiet = FakeConnection({"book": 0.2, "trades": 30.0, "liquidations": 7200.0}, limits)
    quiet.stats.connected = True
    assert all(check.ok for check in connection_checks(quiet, NOW))

    stalled = FakeConnection({"book": 16.0, "trades": 30.0, "liquidations": 0.0}, limits)
    stalled.stats.connected = True
    checks = connection_checks(stalled, NOW)
    failed = [check for check in checks if not check.ok]
    assert [check.name for check in failed] == ["okx#1 book"]
    assert failed[0].reason == "okx#1 book: no data for 16.00 s (stale after 15 s)"
    assert failed[0].detail == {"silent_seconds": 16.0, "stale_after_seconds": 15.0}


def test_a_connection_without_a_session_says_why() -> None:
    never = FakeConnection({"book": 0.0}, {}, failed_connects=2, last_error="refused")
    (check,) = connection_checks(never, NOW)
    assert check.reason == "okx#1: not connected yet (last attempt: refused)"
    ended = FakeConnection(
        {"book": 0.0},
        {},
        disconnects=Counter({"stale book": 1}),
        last_disconnect="stale book",
        last_disconnect_at=NOW - timedelta(seconds=1.5),
    )
    (check,) = connection_checks(ended, NOW)
    assert check.reason == "okx#1: not connected; its session ended 1.5 s ago (stale book)"


class NullSink:
    async def publish(self, record: Record) -> None:
        raise AssertionError("nothing is published here")


def test_books_waiting_for_a_snapshot_and_a_full_producer_are_not_ready() -> None:
    feed = VenueFeed(
        Binance(symbols=["BTC-USDT", "ETH-USDT"]),
        symbols=["BTC-USDT", "ETH-USDT"],
        channels=["trades", "book"],
        sink=NullSink(),
    )
    producer = ProducerStats(max_buffered=3, connected=True)
    reasons = IngestHealth([feed], producer).readiness().reasons
    assert reasons == [
        f"{feed.connections[0].name}: not connected yet",
        "binance books out of sync, waiting for a snapshot: BTC-USDT, ETH-USDT",
    ]
    assert producer_check(producer).ok
    producer.buffered = 3
    assert producer_check(producer).reason == (
        "kafka producer: buffer full (3 of 3 records in flight), publishing waits for Kafka"
    )
    assert producer_check(ProducerStats(max_buffered=3)).reason == (
        "kafka producer: not connected to the broker"
    )
    status = orjson.loads(to_json(IngestHealth([feed], producer).status()))
    (venue,) = status["venues"]
    assert venue["books"] == {"in_sync": [], "out_of_sync": ["BTC-USDT", "ETH-USDT"]}
    assert venue["connections"][0]["channels"]["book"] == {
        "silent_seconds": None,
        "stale_after_seconds": 15.0,
    }
    assert status["producer"]["full"] is True


def worker_settings(tmp_path: Path, **sinks: Any) -> Settings:
    return Settings(
        store={"data_dir": tmp_path / "worker"},
        parquet={"root": tmp_path / "parquet", "roll_seconds": 10},
        sinks={"data_types": ["trades"], **sinks},
    )


@pytest.mark.asyncio
async def test_worker_pages_before_it_joins_its_group(tmp_path: Path) -> None:
    pipeline = build(worker_settings(tmp_path, compaction_cron="*/10 * * * *"))
    assert pipeline.scheduler is not None
    compaction = pipeline.scheduler.get("parquet.compaction")
    assert compaction.schedule == Cron("*/10 * * * *") and compaction.leader_only
    async with TestClient(TestServer(await pipeline.app.web.wsgi())) as client:
        response = await client.get("/health")
        assert response.status == 200 and response.content_type == "application/json"
        assert (await response.json())["process"] == "worker"

        response = await client.get("/ready")
        body = await response.json()
        assert response.status == 503 and body["ready"] is False
        assert body["reasons"] == [
            "waiting for the consumer group to assign partitions and restore tables"
        ]
        assert [check["name"] for check in body["checks"]] == ["recovery", "trades sink"]

        response = await client.get("/status")
        status = await response.json()
        assert response.status == 200 and status["ready"] is False
        assert status["assignment"] == {} and status["leader"] is False
        assert status["sinks"]["trades"]["unacked_events"] == 0
        assert status["sinks"]["trades"]["waiting_seconds"] == 0

        response = await client.get("/scheduler")
        jobs = {job["name"]: job for job in (await response.json())["jobs"]}
        assert set(jobs) == {"windows.close_idle", "parquet_sinks.flush", "parquet.compaction"}
        assert jobs["windows.close_idle"]["schedule"] == {"every_seconds": 1.0}
        assert jobs["parquet.compaction"]["schedule"]["cron"] == "*/10 * * * *"
        due = datetime.fromisoformat(jobs["parquet.compaction"]["next_run_at"])
        assert due.minute % 10 == 0 and due > datetime.now(UTC)

        # Faust's own index page ({"status": "OK"}) gives way to the dashboard.
        response = await client.get("/", allow_redirects=False)
        assert response.status == 302 and response.headers["Location"] == "/dashboard/"
        response = await client.get("/")
        assert response.status == 200 and response.url.path == "/dashboard/"
        assert response.content_type == "text/html"

        assert "marketprism_worker_recovering 0.0" in await (await client.get("/metrics")).text()
        pipeline.app.in_recovery = True  # what Faust's recovery sets while it restores tables
        assert "marketprism_worker_recovering 1.0" in await (await client.get("/metrics")).text()
        (reason,) = (await (await client.get("/ready")).json())["reasons"]
        assert reason.startswith("restoring tables from their changelogs")


def test_compaction_can_be_turned_off_and_a_bad_cron_names_its_variable(tmp_path: Path) -> None:
    pipeline = build(worker_settings(tmp_path, compaction_enabled=False))
    assert pipeline.scheduler is not None
    assert [job.name for job in pipeline.scheduler.jobs] == [
        "windows.close_idle",
        "parquet_sinks.flush",
    ]
    with pytest.raises(ConfigError, match="MARKETPRISM_SINKS__COMPACTION_CRON"):
        build(worker_settings(tmp_path, compaction_cron="61 * * * *"))
    with pytest.raises(ConfigError, match="MARKETPRISM_SINKS__COMPACTION_CRON"):
        load_settings(sinks={"compaction_cron": "hourly"})
