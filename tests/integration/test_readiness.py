"""``/health``, ``/ready``, ``/status`` and ``/scheduler`` of both processes, for real.

* ``marketprism ingest`` (``run_ingest``) against the exchange simulator, producing
  to the real broker: ready once connected with its book in sync, not ready with the
  stale channel named while the simulator stalls, ready again once it recovers; not
  ready while its open-interest endpoint fails every poll, ready again once it
  answers; its REST poll, book publisher and trade backfill run on ``/scheduler``;
* a worker subprocess: ``/`` leads to the dashboard, ready after its assignment and
  recovery, its sink's Prometheus series move as rows land, a failing write makes it
  not ready until the write succeeds, its compaction crontab runs while the sink
  writes, and its idle-close timer runs on ``/scheduler``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import duckdb
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.ingest_main import kafka_sink, run_ingest
from app.settings import Settings
from app.topics import ensure_topics, topic_name
from ingest.simulator import SimulatedExchange, SyntheticMarket
from sinks.layout import COMPACTED_NAME, partition_dir
from sinks.schemas import SPECS
from tests.conftest import SettingsFactory, free_port
from tests.integration.worker_process import WorkerProcess
from tests.unit.sinks.factories import trade

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]

Page = tuple[int, Any]


async def get(url: str) -> Page:
    """``(status, JSON body)``; ``(0, None)`` while nothing answers."""
    try:
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            return response.status, await response.json()
    except aiohttp.ClientConnectionError:
        return 0, None


async def until_page(
    url: str, condition: Callable[[int, Any], bool], *, within: float, what: str
) -> Any:
    """Poll ``url`` until ``condition(status, body)``; the body. Fails with the last answer."""
    last: Page = (0, None)
    try:
        async with asyncio.timeout(within):
            while True:
                last = await get(url)
                if condition(*last):
                    return last[1]
                await asyncio.sleep(0.1)
    except TimeoutError:
        pytest.fail(f"waited {within:.0f} s for {what}; last answer: {last}")


def ready(status: int, body: Any) -> bool:
    return status == 200 and body["ready"] is True


# -- ingest ------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def ingesting(settings: Settings, sim: SimulatedExchange) -> AsyncIterator[None]:
    task = asyncio.create_task(
        run_ingest(
            settings,
            exchanges=["binance_futures"],
            symbols=["BTC-USDT-PERP"],
            channels=["trades", "book", "open_interest"],
            duration=300,
        )
    )
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_ingest_is_not_ready_while_the_simulator_stalls(
    make_settings: SettingsFactory,
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    market = SyntheticMarket(["BTC-USDT-PERP"], rate=200, seed=3)
    async with SimulatedExchange("binance_futures", market) as sim:
        settings = make_settings(
            exchanges={"binance_futures": {"ws_url": sim.ws_url, "rest_url": sim.rest_url}},
            polling={"open_interest_seconds": 0.5},
            ingest={
                "metrics_port": port,
                # The watchdog's thresholds are readiness's: a quiet book is stale after
                # 1.5 s. The stale connection then stays down 2 s before reconnecting.
                "stale_seconds": {"book": 1.5, "trades": 60.0},
                "reconnect_min_seconds": 2.0,
                "reconnect_max_seconds": 2.0,
            },
        )
        async with ingesting(settings, sim):
            health = await until_page(
                f"{base}/health", lambda s, _: s == 200, within=30, what="/health"
            )
            assert health["status"] == "alive" and health["process"] == "ingest"
            assert health["uptime_seconds"] >= 0
            body = await until_page(f"{base}/ready", ready, within=60, what="ready")
            names = {check["name"] for check in body["checks"]}
            assert {"binance_futures books", "kafka producer"} <= names
            assert all(check["ok"] for check in body["checks"])
            await _status_and_scheduler_shapes(base)

            sim.faults.stall(5.0)
            body = await until_page(
                f"{base}/ready",
                lambda s, b: s == 503 and any("stale" in r and "book" in r for r in b["reasons"]),
                within=30,
                what="not ready, naming the stale book channel",
            )
            assert body["ready"] is False
            await until_page(f"{base}/ready", ready, within=60, what="ready again")
            status = (await get(f"{base}/status"))[1]
            (connection,) = status["venues"][0]["connections"]
            assert connection["disconnects"] == {"stale book": 1}, connection
            await _feed_jobs_run(base)
            await _failing_poll_is_not_ready(base, sim)


def jobs_of(body: Any) -> dict[str, Any]:
    return {job["name"]: job for job in body["jobs"]}


async def _feed_jobs_run(base: str) -> None:
    """The book publisher runs on and on; the reconnect's trade gap was backfilled."""
    first = jobs_of((await get(f"{base}/scheduler"))[1])
    books = first["book_publish.binance_futures"]
    assert books["schedule"] == {"every_seconds": 1.0}, books
    runs = books["runs"]

    def moved(status: int, body: Any) -> bool:
        jobs = jobs_of(body)
        return (
            jobs["book_publish.binance_futures"]["runs"] >= runs + 2
            and jobs["trade_backfill.binance_futures"]["runs"] >= 1
        )

    jobs = jobs_of(await until_page(f"{base}/scheduler", moved, within=30, what="runs move"))
    assert jobs["book_publish.binance_futures"]["last_run"]["outcome"] == "ok"
    backfill = jobs["trade_backfill.binance_futures"]
    assert backfill["schedule"] == {"on_demand": "a gap in the trade ids, or a reconnect"}
    assert backfill["next_run_at"] is None and backfill["last_run"]["result"]["ranges"] >= 1


async def _failing_poll_is_not_ready(base: str, sim: SimulatedExchange) -> None:
    """Every open-interest poll fails (400): not ready, naming the poll, until it answers."""
    poll = "poll.binance_futures.open_interest"
    sim.faults.rest_outage(600.0, status=400, path="/fapi/v1/openInterest")
    body = await until_page(
        f"{base}/ready",
        lambda s, b: s == 503 and any(r.startswith(f"{poll}: its last ") for r in b["reasons"]),
        within=30,
        what="not ready, naming the failing poll",
    )
    (reason,) = [r for r in body["reasons"] if r.startswith(poll)]
    assert "rounds failed (last error: BTC-USDT-PERP: GET " in reason and ": 400 " in reason
    sim.faults.rest_outage(0)
    await until_page(f"{base}/ready", ready, within=30, what="ready once the poll answers")
    job = jobs_of((await get(f"{base}/scheduler"))[1])[poll]
    assert job["consecutive_failures"] == 0 and job["failures"] >= 3
    assert job["last_success_at"] >= job["last_error_at"]


async def _status_and_scheduler_shapes(base: str) -> None:
    status = (await get(f"{base}/status"))[1]
    assert status["process"] == "ingest" and status["ready"] is True
    (venue,) = status["venues"]
    assert venue["exchange"] == "binance_futures"
    (connection,) = venue["connections"]
    assert connection["connected"] and connection["connected_since"]
    assert connection["channels"]["book"]["stale_after_seconds"] == 1.5
    assert connection["channels"]["book"]["silent_seconds"] >= 0
    streams = {(s["channel"], s["symbol"]): s for s in venue["streams"]}
    book = streams["book", "BTC-USDT-PERP"]
    assert book["last_message_age_seconds"] >= 0 and book["event_lag_seconds"] is not None
    assert venue["books"] == {"in_sync": ["BTC-USDT-PERP"], "out_of_sync": []}
    assert status["producer"]["connected"] and not status["producer"]["full"]

    def polled(status: int, body: Any) -> bool:
        jobs = {job["name"]: job for job in body["jobs"]}
        return jobs["poll.binance_futures.open_interest"]["runs"] >= 2

    body = await until_page(f"{base}/scheduler", polled, within=30, what="two polls")
    job = jobs_of(body)["poll.binance_futures.open_interest"]
    assert job["schedule"] == {"every_seconds": 0.5}
    assert job["last_run"]["outcome"] == "ok" and job["last_error"] is None
    assert job["next_run_at"] is None or job["next_run_at"] > job["last_run"]["finished_at"]
    (venue,) = (await get(f"{base}/status"))[1]["venues"]
    assert "open_interest" in {stream["channel"] for stream in venue["streams"]}


# -- worker ------------------------------------------------------------------------------

#: Closed hours (compacted at once) recent enough for the broker's retention.
HOUR = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)


class Worker(WorkerProcess):
    def __init__(self, settings: Settings, log_dir: Path, **env: str) -> None:
        self.settings = settings
        super().__init__(
            {
                "MARKETPRISM_APP_ID": settings.app_id,
                "MARKETPRISM_KAFKA__BROKER": settings.kafka.broker,
                "MARKETPRISM_TOPICS__PREFIX": settings.topics.prefix,
                "MARKETPRISM_TOPICS__PARTITIONS": str(settings.topics.partitions),
                "MARKETPRISM_STORE__DATA_DIR": str(settings.store.data_dir),
                "MARKETPRISM_PARQUET__ROOT": str(settings.parquet.root),
                **env,
            },
            log_dir,
        )


def samples(text: str) -> dict[tuple[str, str], float]:
    """``(metric, data_type label)`` -> value of the sink series."""
    return {
        (sample.name, sample.labels.get("data_type", "")): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("marketprism_sink_")
    }


async def scrape(url: str) -> dict[tuple[str, str], float]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return samples(await response.text())


@pytest.mark.timeout(300)
async def test_worker_health_pages_sink_metrics_and_compaction_crontab(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    settings = make_settings(sinks={"data_types": ["trades"]})
    worker = Worker(
        settings,
        tmp_path,
        MARKETPRISM_SINKS__DATA_TYPES="trades",
        MARKETPRISM_PARQUET__ROLL_ROWS="5",
        MARKETPRISM_PARQUET__ROLL_SECONDS="0.5",
        MARKETPRISM_SINKS__RETRY_MIN_SECONDS="0.05",
        MARKETPRISM_SINKS__RETRY_MAX_SECONDS="0.2",
        # every 2 s (seconds are the sixth field): runs while the sink writes
        MARKETPRISM_SINKS__COMPACTION_CRON="* * * * * */2",
    )
    await ensure_topics(settings)
    worker.start()
    try:
        await _worker_story(worker, settings)
    finally:
        code = worker.stop()
    assert code == 0, worker.logs()
    # Read once the worker (and its compaction) stopped: a compaction in flight may
    # briefly hide an hour's rows from a reader, never show one twice.
    glob = {"glob": f"{settings.parquet.root}/trades/**/*.parquet"}
    ids = duckdb.execute("SELECT trade_id FROM read_parquet($glob)", glob).fetchall()
    assert sorted(int(row[0]) for row in ids) == [*range(12), 100]


async def _worker_story(worker: Worker, settings: Settings) -> None:
    base, root = worker.url, settings.parquet.root
    health = await until_page(f"{base}/health", lambda s, _: s == 200, within=60, what="/health")
    assert health["process"] == "worker"
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{base}/", allow_redirects=False) as index,
    ):
        assert (index.status, index.headers["Location"]) == (302, "/dashboard/")
    body = await until_page(f"{base}/ready", ready, within=120, what="assignment and recovery")
    assert [check["name"] for check in body["checks"]] == ["recovery", "trades sink"]
    status = (await get(f"{base}/status"))[1]
    trades_topic = topic_name(settings.topics, "trades")
    assert status["assignment"][trades_topic] == [0, 1] and status["leader"] is True
    assert status["sinks"]["trades"]["failing"] is False
    assert {p["topic"] for p in status["partitions"]} >= {trades_topic}

    records = [trade(n, at=HOUR + timedelta(seconds=n)) for n in range(12)]
    await publish(settings, records)
    sink_series = await until_scraped(
        f"{base}/metrics",
        lambda s: s.get(("marketprism_sink_rows_written_total", "trades"), 0) == 12,
        what="12 rows counted",
    )
    assert sink_series["marketprism_sink_files_written_total", "trades"] >= 3  # 5-row files
    assert sink_series["marketprism_sink_bytes_written_total", "trades"] > 0
    last_commit = sink_series["marketprism_sink_last_commit_timestamp_seconds", "trades"]
    assert abs(last_commit - datetime.now(UTC).timestamp()) < 120
    assert sink_series["marketprism_sink_write_failures_total", "trades"] == 0

    directory = partition_dir(root, SPECS["trades"], records[0])

    def compacted(status: int, body: Any) -> bool:
        (job,) = [job for job in body["jobs"] if job["name"] == "parquet.compaction"]
        return (directory / COMPACTED_NAME).exists() and job["runs"] >= 1

    body = await until_page(f"{base}/scheduler", compacted, within=60, what="a compaction run")
    jobs = {job["name"]: job for job in body["jobs"]}
    job = jobs["parquet.compaction"]
    assert job["schedule"] == {"cron": "* * * * * */2", "timezone": "UTC"}
    assert job["leader_only"] and body["leader"] is True
    assert job["last_error"] is None, job
    assert jobs["parquet_sinks.flush"]["runs"] > 0
    idle = jobs["windows.close_idle"]
    assert idle["schedule"] == {"every_seconds": 1.0} and idle["last_error"] is None
    await until_page(
        f"{base}/scheduler",
        lambda s, b: jobs_of(b)["windows.close_idle"]["runs"] >= idle["runs"] + 2,
        within=30,
        what="the idle-close timer running on",
    )

    # A write that fails (a file where the symbol's directory belongs): not ready.
    ethereum = trade(100, at=HOUR + timedelta(minutes=1), symbol="ETH-USDT")
    blocker = partition_dir(root, SPECS["trades"], ethereum).parents[1]
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("in the way")
    await publish(settings, [ethereum])
    body = await until_page(
        f"{base}/ready",
        lambda s, b: s == 503 and any("trades sink: writes failing" in r for r in b["reasons"]),
        within=60,
        what="not ready while the write fails",
    )
    failures = await scrape(f"{base}/metrics")
    assert failures["marketprism_sink_write_failures_total", "trades"] >= 1
    blocker.unlink()
    await until_page(f"{base}/ready", ready, within=60, what="ready once the write succeeds")
    await until_scraped(
        f"{base}/metrics",
        lambda s: s.get(("marketprism_sink_rows_written_total", "trades"), 0) == 13,
        what="the 13th row counted",
    )


async def publish(settings: Settings, records: list[Any]) -> None:
    producer = kafka_sink(settings)
    await producer.start()
    try:
        for record in records:
            await producer.publish(record)
    finally:
        await producer.stop()


async def until_scraped(
    url: str, condition: Callable[[dict[tuple[str, str], float]], bool], *, what: str
) -> dict[tuple[str, str], float]:
    last: dict[tuple[str, str], float] = {}
    try:
        async with asyncio.timeout(60):
            while True:
                last = await scrape(url)
                if condition(last):
                    return last
                await asyncio.sleep(0.1)
    except TimeoutError:
        pytest.fail(f"waited 60 s for {what}; last scrape: {last}")
