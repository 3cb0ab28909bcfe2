"""The Parquet sink agents in a real worker process against the real broker.

* every data type, produced once, lands in its hive directories with its row
  count, bad records become dead letters, and every offset gets committed;
* trades survive a worker SIGKILLed at random points and restarted: DuckDB
  counts every trade exactly once;
* a write that fails holds the commit before its first row, is retried and
  logged once; failing still at shutdown, its rows are given back unacknowledged
  and the next worker stores them;
* rows still buffered are written, and committed, when a second worker joins
  (every partition is revoked) and at shutdown.

Once the group has committed an offset, its row must be on disk: the tests
wait for the commits, then count.

A SIGKILLed consumer stays in its group until its session times out (60 s in
Faust); the tests remove it with a LeaveGroup request instead, as the broker
would after the timeout, so the next worker takes over at once.
"""

from __future__ import annotations

import asyncio
import base64
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError
from aiokafka.protocol.group import LeaveGroupRequest

from app.ingest_main import kafka_sink
from app.main import build
from app.settings import DATA_TYPES, Settings
from app.topics import TOPIC_MODELS, ensure_topics, topic_name
from models import Record, Trade
from models.codec import encode
from models.numbers import epoch_ms
from sinks.layout import partition_dir
from sinks.schemas import SPECS
from tests.conftest import SettingsFactory
from tests.integration.worker_process import WorkerProcess
from tests.unit.models.samples import every_model
from tests.unit.sinks.factories import trade
from tests.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]

#: Event times of the test records, which are also their Kafka timestamps: recent,
#: or the broker's time-based retention deletes them while the tests run.
HOUR = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)


class Worker(WorkerProcess):
    """``python -m app.cli worker`` with the settings of one test and its roll sizes."""

    def __init__(
        self, settings: Settings, log_dir: Path, roll_rows: int, roll_seconds: float = 1.0
    ) -> None:
        self.settings = settings
        env = {
            "MARKETPRISM_APP_ID": settings.app_id,
            "MARKETPRISM_KAFKA__BROKER": settings.kafka.broker,
            "MARKETPRISM_TOPICS__PREFIX": settings.topics.prefix,
            "MARKETPRISM_TOPICS__PARTITIONS": str(settings.topics.partitions),
            "MARKETPRISM_STORE__DATA_DIR": str(settings.store.data_dir),
            "MARKETPRISM_PARQUET__ROOT": str(settings.parquet.root),
            "MARKETPRISM_PARQUET__ROLL_ROWS": str(roll_rows),
            "MARKETPRISM_PARQUET__ROLL_SECONDS": str(roll_seconds),
        }
        super().__init__(env, log_dir)


def processes_of(app_id: str) -> list[int]:
    """Pids of live processes started with this test's app id (workers left behind)."""
    marker = f"MARKETPRISM_APP_ID={app_id}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in environ.split(b"\0") and state != "Z":
            pids.append(int(entry.name))
    return pids


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[Worker]]:
    """Every Worker a test makes; all are killed afterwards, and none may be left."""
    made: list[Worker] = []
    yield made
    for worker in made:
        for process in worker.started:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)
    for worker in made:
        assert processes_of(worker.settings.app_id) == []


class Archive:
    """Row counts of the Parquet tree from file metadata (a file name stands for its rows)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._rows: dict[Path, int] = {}

    def rows_by_dir(self, directory: str) -> Counter[Path]:
        counts: Counter[Path] = Counter()
        for path in (self.root / directory).rglob("*.parquet"):
            if path not in self._rows:
                self._rows[path] = pq.read_metadata(path).num_rows
            counts[path.parent] += self._rows[path]
        return counts

    def rows(self, directory: str) -> int:
        return sum(self.rows_by_dir(directory).values())


async def until(
    check: Callable[[], bool | Awaitable[bool]],
    *,
    within: float,
    what: str,
    worker: Worker | None = None,
) -> None:
    """Wait for ``check()`` (awaited if need be); fail at once, with the worker's log,
    if the worker exits."""
    try:
        async with asyncio.timeout(within):
            while True:
                done = check()
                if done if isinstance(done, bool) else await done:
                    return
                if worker is not None and not worker.alive():
                    pytest.fail(f"the worker exited while waiting for {what}:\n{worker.logs()}")
                await asyncio.sleep(0.1)
    except TimeoutError:
        logs = "" if worker is None else "\n" + worker.logs()
        pytest.fail(f"waited {within:.0f} s for {what}{logs}")


async def end_offsets(settings: Settings, topics: list[str]) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka.bootstrap_servers)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topic, partition)
            for topic in topics
            for partition in range(settings.topics.partitions)
        ]
        offsets: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return offsets
    finally:
        await consumer.stop()


async def committed_offsets(settings: Settings) -> dict[TopicPartition, int]:
    """The group's committed offsets; none while a fresh broker has no coordinator yet."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap_servers)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(settings.app_id)
    except KafkaError as exc:
        if not exc.retriable:
            raise
        return {}
    finally:
        await admin.close()
    return {tp: meta.offset for tp, meta in offsets.items()}


async def until_committed(worker: Worker, topics: list[str], *, within: float) -> None:
    """Until the worker's group has committed every offset ``topics`` hold now."""
    wanted = await end_offsets(worker.settings, topics)

    async def committed_all() -> bool:
        committed = await committed_offsets(worker.settings)
        return all(committed.get(tp, 0) >= end for tp, end in wanted.items())

    await until(committed_all, within=within, what=f"commits up to {wanted}", worker=worker)


async def evict_members(settings: Settings) -> None:
    """Remove the (dead) members of the worker's group, as its session timeout would."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap_servers)
    client = AIOKafkaClient(bootstrap_servers=settings.kafka.bootstrap_servers)
    await admin.start()
    await client.bootstrap()
    try:
        coordinator = await admin.find_coordinator(settings.app_id)
        (described,) = await admin.describe_consumer_groups([settings.app_id], coordinator)
        for group in described.groups:
            for member in group[5]:
                await client.send(coordinator, LeaveGroupRequest(settings.app_id, member[0]))
    except KafkaError as exc:
        if not exc.retriable:
            raise
        # no coordinator yet (a fresh broker): the worker never joined, nothing to evict
    finally:
        await client.close()
        await admin.close()


def shifted(record: Record, delta: timedelta, **update: object) -> Record:
    """``record`` with every time moved by ``delta`` (and ``update``), validated."""
    data = {name: value + delta if isinstance(value, datetime) else value for name, value in record}
    return type(record).model_validate({**data, **update})


def produced_records() -> dict[str, list[Record]]:
    """Two records of every data type, an hour apart, in recent hours. Analytics and
    alerts use a symbol no trade has, so the windows agent's own output is not counted."""
    delta = HOUR - every_model()["trades"].timestamp.replace(second=0, microsecond=0)  # type: ignore[attr-defined]
    out: dict[str, list[Record]] = {}
    for data_type, record in every_model().items():
        update: dict[str, object] = {}
        if data_type in {"analytics", "alerts"}:
            update["symbol"] = "SOL-USDT"
        later = {**update, "trade_id": "3735683260"} if isinstance(record, Trade) else update
        out[data_type] = [
            shifted(record, delta, **update),
            shifted(record, delta + timedelta(hours=1), **later),
        ]
    return out


def payload(raw: str, encoding: str) -> bytes:
    return base64.b64decode(raw) if encoding == "base64" else raw.encode()


@pytest.mark.timeout(600)
async def test_every_data_type_lands_in_its_hive_directories(
    make_settings: SettingsFactory, workers: list[Worker], tmp_path: Path
) -> None:
    assert set(DATA_TYPES) == set(TOPIC_MODELS)
    settings = make_settings()
    root = settings.parquet.root
    await ensure_topics(settings)
    records = produced_records()
    producer = kafka_sink(settings)
    await producer.start()
    try:
        for group in records.values():
            for record in group:
                await producer.publish(record)
    finally:
        await producer.stop()
    trades_topic = topic_name(settings.topics, "trades")
    tickers_topic = topic_name(settings.topics, "tickers")
    bad = [b"\xff not json", encode(records["trades"][0])]  # for the tickers sink
    bad_trades = [b"\xfe not json either", encode(records["tickers"][0])]
    raw = AIOKafkaProducer(bootstrap_servers=settings.kafka.bootstrap_servers)
    await raw.start()
    try:
        for value in bad:
            await raw.send_and_wait(tickers_topic, value, key=b"binance:BTC-USDT")
        for value in bad_trades:
            await raw.send_and_wait(trades_topic, value, key=b"binance:BTC-USDT")
    finally:
        await raw.stop()

    expected: dict[str, Counter[Path]] = {}
    for data_type, group in records.items():
        spec = SPECS[data_type]
        expected[data_type] = Counter(partition_dir(root, spec, record) for record in group)

    worker = Worker(settings, tmp_path, roll_rows=500)
    workers.append(worker)
    worker.start()
    # A committed offset means a durable row: once everything is committed, it is on disk.
    # The worker itself adds to these topics (dead letters, its own analytics and alerts).
    outputs = {"analytics", "alerts", "dead_letters"}
    inputs = [topic_name(settings.topics, t) for t in DATA_TYPES if t not in outputs]
    await until_committed(worker, inputs, within=240)
    await until_committed(worker, [topic_name(settings.topics, t) for t in outputs], within=120)
    assert worker.stop() == 0, worker.logs()

    archive = Archive(root)
    for data_type, dirs in expected.items():
        found = archive.rows_by_dir(SPECS[data_type].directory)
        for directory, rows in dirs.items():
            assert found[directory] == rows, (data_type, directory)
        if data_type not in {"analytics", "alerts", "dead_letters"}:
            assert set(found) == set(dirs), data_type
    letters = duckdb.execute(
        "SELECT source, key, reason, raw, raw_encoding FROM read_parquet($glob)"
        " WHERE starts_with(reason, 'parquet sink: ') ORDER BY \"offset\"",
        {"glob": f"{root}/dead_letters/**/*.parquet"},
    ).fetchall()
    assert [row[:2] for row in letters] == [(tickers_topic, "binance:BTC-USDT")] * 2
    assert [payload(raw, encoding) for *_, raw, encoding in letters] == bad
    assert "not a Ticker: Trade" in letters[1][2]
    # the trades topic's bad records: dead-lettered once, by the windows agent
    from_trades = duckdb.execute(
        "SELECT reason, raw, raw_encoding FROM read_parquet($glob) WHERE source = $topic"
        ' ORDER BY "offset"',
        {"glob": f"{root}/dead_letters/**/*.parquet", "topic": trades_topic},
    ).fetchall()
    assert [payload(raw, encoding) for _, raw, encoding in from_trades] == bad_trades
    assert not any(reason.startswith("parquet sink: ") for reason, *_ in from_trades)


@pytest.mark.slow
@pytest.mark.timeout(1200)
async def test_trades_exactly_once_across_worker_kills(
    make_settings: SettingsFactory, workers: list[Worker], tmp_path: Path
) -> None:
    total, chunks = 20_000, 5
    seed = random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    symbols = [("binance", s) for s in ("BTC-USDT", "ETH-USDT", "SOL-USDT", "XRP-USDT")]
    symbols += [("okx", s) for s in ("BTC-USDT", "ETH-USDT", "SOL-USDT", "XRP-USDT")]
    trades = [
        trade(
            number,
            at=HOUR + timedelta(milliseconds=500 * number),
            exchange=symbols[number % len(symbols)][0],
            symbol=symbols[number % len(symbols)][1],
        )
        for number in range(total)
    ]
    settings = make_settings()
    archive = Archive(settings.parquet.root)
    topic = topic_name(settings.topics, "trades")
    await ensure_topics(settings)
    producer = kafka_sink(settings)
    await producer.start()
    # 500 trades a symbol a chunk: a 300-row roll leaves part of every chunk buffered,
    # unacknowledged, for 6 s (over two commit intervals of 2.8 s): rows a bug had
    # acknowledged early would be committed, and lost at the kill.
    worker = Worker(settings, tmp_path, roll_rows=300, roll_seconds=6)
    workers.append(worker)
    try:
        worker.start()
        size = total // chunks
        for chunk in range(chunks):
            for record in trades[chunk * size : (chunk + 1) * size]:
                await producer.publish(record)
            if chunk == chunks - 1:
                break
            # Kill once a random share of this chunk is on disk (or all of it committed),
            # mostly while the rest of it is still buffered ...
            target = chunk * size + rng.randint(1, size * 3 // 5)

            async def progressed(target: int = target, produced: int = (chunk + 1) * size) -> bool:
                if archive.rows("trades") >= target:
                    return True
                committed = await committed_offsets(settings)
                return sum(o for tp, o in committed.items() if tp.topic == topic) >= produced

            await until(progressed, within=180, what=f"{target} trades on disk", worker=worker)
            await asyncio.sleep(rng.uniform(1, 5.5))
            worker.kill()
            await evict_members(settings)
            worker.start()
            if chunk == 1:  # ... and once at a random moment of start-up or rebalance
                await asyncio.sleep(rng.uniform(0.5, 6))
                worker.kill()
                await evict_members(settings)
                worker.start()
    finally:
        await producer.stop()
    ends = await end_offsets(settings, [topic])
    assert all(end > 0 for end in ends.values()), "both partitions get trades"

    await until_committed(worker, [topic], within=300)  # and so on disk
    assert worker.stop() == 0, worker.logs()

    glob = {"glob": f"{settings.parquet.root}/trades/**/*.parquet"}
    ids = [
        row[0]
        for row in duckdb.execute("SELECT trade_id FROM read_parquet($glob)", glob).fetchall()
    ]
    assert len(ids) == total and len(set(ids)) == total, f"seed {seed}: {len(ids)} rows"
    assert set(ids) == {t.trade_id for t in trades}, f"seed {seed}"


async def send_on_partition_0(settings: Settings, trades: list[Trade]) -> None:
    """The producer's wire format (key, codec, event time), all on one partition."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka.bootstrap_servers)
    await producer.start()
    try:
        for record in trades:
            await producer.send_and_wait(
                topic_name(settings.topics, "trades"),
                encode(record),
                key=record.key.encode(),
                partition=0,
                timestamp_ms=epoch_ms(record.timestamp),
            )
    finally:
        await producer.stop()


def block(root: Path, record: Trade) -> Path:
    """A file where the record's ``symbol=`` directory belongs: its writes fail."""
    symbol_dir = partition_dir(root, SPECS["trades"], record).parents[1]
    symbol_dir.parent.mkdir(parents=True, exist_ok=True)
    symbol_dir.write_text("in the way")
    return symbol_dir


@pytest.mark.timeout(600)
async def test_a_failing_write_holds_its_acks_and_loses_nothing(
    make_settings: SettingsFactory,
    workers: list[Worker],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(
        parquet={"roll_rows": 2, "roll_seconds": 0.2},
        sinks={"data_types": ["trades"], "retry_min_seconds": 0.05, "retry_max_seconds": 0.2},
    )
    root = settings.parquet.root
    tp = TopicPartition(topic_name(settings.topics, "trades"), 0)
    await ensure_topics(settings)
    symbols = ["BTC-USDT"] * 2 + ["ETH-USDT"] + ["BTC-USDT"] * 2 + ["ETH-USDT"] + ["BTC-USDT"] * 2
    symbols += ["SOL-USDT"] * 2 + ["BTC-USDT", "SOL-USDT"]
    trades = [
        trade(n, at=HOUR + timedelta(seconds=n), symbol=symbol) for n, symbol in enumerate(symbols)
    ]

    async def committed() -> int:
        return (await committed_offsets(settings)).get(tp, 0)

    async def committed_at_least(offset: int) -> bool:
        return await committed() >= offset

    pipeline = build(settings)
    assert pipeline.sinks is not None
    sink = pipeline.sinks.sinks["trades"]
    ethereum = block(root, trades[2])
    await send_on_partition_0(settings, trades[:8])  # ETH-USDT at offsets 2 and 5
    await pipeline.app.start()
    try:
        # The ETH-USDT file cannot be written: BTC-USDT rows 0-1 and 3-4 are, and
        # the commit stops at offset 2, before the first row that is not on disk.
        await eventually(lambda: sink.status().failing and sink.status().rows_written == 4)
        first_error = sink.status().last_error_at
        await eventually(lambda: sink.status().last_error_at != first_error)  # retried
        await until(lambda: committed_at_least(2), within=60, what="commit up to offset 2")
        await asyncio.sleep(2 * pipeline.app.conf.broker_commit_interval)
        assert await committed() == 2
        status = sink.status()
        assert status.failing and status.failure_episodes == 1 and status.unacked_events == 6
        assert "Not a directory" in (status.last_error or "")
        errors = [
            r for r in caplog.records if r.name == "agents.storage" and r.levelname == "ERROR"
        ]
        assert len(errors) == 1, "logged once per failure episode"

        ethereum.unlink()
        await eventually(lambda: not sink.status().failing and sink.status().rows_written == 8)
        await until(lambda: committed_at_least(8), within=60, what="commit up to offset 8")

        # Failing again at shutdown: the buffered rows are dropped, not acknowledged.
        solana = block(root, trades[8])
        await send_on_partition_0(settings, trades[8:])  # SOL-USDT at offsets 8, 9 and 11
        await eventually(lambda: sink.status().failing)
    finally:
        await stop_in_time(pipeline.app)  # a failing sink must not hold the shutdown
    assert sink.status().discarded_rows == 2 and not sink.status().failing
    assert await committed() == 8

    # The next owner consumes them again: every trade on disk once.
    solana.unlink()
    store = settings.store.model_copy(update={"data_dir": tmp_path / "second-worker"})
    worker = Worker(settings.model_copy(update={"store": store}), tmp_path, roll_rows=2)
    workers.append(worker)
    worker.start()
    await until_committed(worker, [tp.topic], within=240)
    assert worker.stop() == 0, worker.logs()
    glob = {"glob": f"{root}/trades/**/*.parquet"}
    ids = duckdb.execute("SELECT trade_id FROM read_parquet($glob)", glob).fetchall()
    assert sorted(int(row[0]) for row in ids) == list(range(len(trades)))


async def stop_in_time(app: Any) -> None:
    """Stop an in-process app; fail (instead of hanging: Faust's wait for
    unacknowledged events cannot be cancelled) if that takes over 90 s."""
    stopping = asyncio.ensure_future(app.stop())
    done, _ = await asyncio.wait({stopping}, timeout=90)
    if not done:
        pytest.fail("the worker's shutdown waits for events the sink never acknowledges")
    stopping.result()


@pytest.mark.timeout(600)
async def test_buffered_rows_are_written_at_a_rebalance_and_at_shutdown(
    make_settings: SettingsFactory, workers: list[Worker], tmp_path: Path
) -> None:
    # Files roll only after 10 minutes here: what gets written sooner was flushed
    # because partitions were revoked.
    settings = make_settings(
        parquet={"roll_rows": 1_000_000, "roll_seconds": 600}, sinks={"data_types": ["trades"]}
    )
    topic = topic_name(settings.topics, "trades")
    archive = Archive(settings.parquet.root)
    symbols = ("BTC-USDT", "ETH-USDT", "SOL-USDT", "XRP-USDT")
    trades = [
        trade(n, at=HOUR + timedelta(milliseconds=100 * n), symbol=symbols[n % 4])
        for n in range(800)
    ]
    await ensure_topics(settings)
    producer = kafka_sink(settings)
    await producer.start()
    pipeline = build(settings)
    assert pipeline.sinks is not None
    sink = pipeline.sinks.sinks["trades"]
    store = settings.store.model_copy(update={"data_dir": tmp_path / "second-worker"})
    second = Worker(
        settings.model_copy(update={"store": store}),
        tmp_path,
        roll_rows=1_000_000,
        roll_seconds=600,
    )
    workers.append(second)
    await pipeline.app.start()
    try:
        for record in trades[:400]:
            await producer.publish(record)
        await until(lambda: sink.status().buffered_rows == 400, within=120, what="400 buffered")
        assert archive.rows("trades") == 0 and not await committed_offsets(settings)

        def owns(partitions: int, after: int) -> Callable[[], bool]:
            def check() -> bool:
                app = pipeline.app
                owned = {tp.partition for tp in app.consumer.assignment() if tp.topic == topic}
                assigned = app.consumer_generation_id > after and app.flow_control.is_active()
                return assigned and len(owned) == partitions

            return check

        # A second worker joins: this one's partitions are all revoked first.
        generation = pipeline.app.consumer_generation_id
        second.start()
        await until(
            lambda: sink.status().buffered_rows == 0 and archive.rows("trades") == 400,
            within=180,
            what="the buffered rows written at the revocation",
            worker=second,
        )
        await until(owns(1, generation), within=120, what="a partition each", worker=second)
        await until_committed(second, [topic], within=120)

        # It leaves again; once every partition is back here, a shutdown writes what is
        # buffered.
        generation = pipeline.app.consumer_generation_id
        assert second.stop() == 0, second.logs()
        await until(owns(2, generation), within=120, what="every partition assigned here")
        for record in trades[400:]:
            await producer.publish(record)
        await until(lambda: sink.status().buffered_rows == 400, within=120, what="400 more")
    finally:
        await producer.stop()
        await stop_in_time(pipeline.app)
    assert archive.rows("trades") == 800
    assert sink.status().discarded_rows == 0
    committed = await committed_offsets(settings)
    ends = await end_offsets(settings, [topic])
    assert all(committed.get(tp, 0) == end for tp, end in ends.items())
    glob = {"glob": f"{settings.parquet.root}/trades/**/*.parquet"}
    ids = duckdb.execute("SELECT trade_id FROM read_parquet($glob)", glob).fetchall()
    assert sorted(int(row[0]) for row in ids) == list(range(800))
