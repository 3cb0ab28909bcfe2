"""The worker's compaction crontab job, run directly against an archive the sink's
writer produced: it compacts closed hours off the event loop, records each run
on the scheduler, and a failing run is reported and retried by the next."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from agents.maintenance import JOB_NAME, ArchiveMaintenance
from app.scheduler import Cron, Scheduler
from sinks.base import RollPolicy
from sinks.layout import COMPACTED_NAME, data_files, partition_dir
from sinks.parquet_writer import ParquetWriter
from sinks.schemas import SPECS
from tests.unit.sinks.factories import trade

pytestmark = pytest.mark.asyncio

NOW = datetime(2024, 8, 9, 12, 10, tzinfo=UTC)
CLOSED = datetime(2024, 8, 9, 10, 0, tzinfo=UTC)  # ended 70 min before NOW
OPEN = datetime(2024, 8, 9, 12, 0, tzinfo=UTC)  # the current hour


def write_archive(root: Path) -> ParquetWriter:
    """Three files in a closed hour, one in the open hour, as the sink writes them."""
    writer = ParquetWriter(root, SPECS["trades"], RollPolicy(rows=4))
    offset = 0
    for at in [CLOSED + timedelta(seconds=n) for n in range(10)] + [OPEN, OPEN]:
        writer.add(trade(offset, at=at), partition=0, offset=offset)
        offset += 1
    writer.flush()
    return writer


def ids(root: Path) -> list[int]:
    glob = {"glob": f"{root}/trades/**/*.parquet"}
    rows = duckdb.execute("SELECT trade_id FROM read_parquet($glob)", glob).fetchall()
    return sorted(int(row[0]) for row in rows)


async def test_the_job_compacts_closed_hours_off_the_loop_and_is_recorded(tmp_path: Path) -> None:
    root = tmp_path / "parquet"
    write_archive(root)
    closed = partition_dir(root, SPECS["trades"], trade(0, at=CLOSED))
    current = partition_dir(root, SPECS["trades"], trade(0, at=OPEN))
    assert len(data_files(closed)) == 3 and len(data_files(current)) == 1

    ran_on: list[str] = []

    def clock() -> datetime:  # called inside the run: on which thread?
        ran_on.append(threading.current_thread().name)
        return NOW

    scheduler = Scheduler()
    job = scheduler.add(JOB_NAME, Cron("5 * * * *"), leader_only=True)
    with ThreadPoolExecutor(1, thread_name_prefix="compaction-test") as executor:
        maintenance = ArchiveMaintenance(
            root, job, grace=timedelta(minutes=2), retention=None, executor=executor, clock=clock
        )
        report = await maintenance.run()

    assert report is not None
    assert (report.hours_compacted, report.files_in, report.rows_before) == (1, 3, 10)
    assert [path.name for path in data_files(closed)] == [COMPACTED_NAME]
    assert len(data_files(current)) == 1, "the open hour is left alone"
    assert ids(root) == list(range(12))
    assert ran_on and all(name.startswith("compaction-test") for name in ran_on), ran_on

    (page,) = scheduler.document()["jobs"]
    assert page["runs"] == 1 and page["failures"] == 0 and page["last_error"] is None
    assert page["last_run"]["outcome"] == "ok"
    assert page["last_run"]["result"]["hours_compacted"] == 1
    assert page["next_run_at"].minute == 5 and page["next_run_at"] > datetime.now(UTC)


async def test_a_failing_run_is_recorded_and_the_next_one_recovers(tmp_path: Path) -> None:
    root = tmp_path / "parquet"
    write_archive(root)
    closed = partition_dir(root, SPECS["trades"], trade(0, at=CLOSED))
    broken = closed / "p0001-o000000000000-000000000000.parquet"
    broken.write_bytes(b"not parquet")
    job = Scheduler().add(JOB_NAME, Cron("5 * * * *"))
    maintenance = ArchiveMaintenance(
        root, job, grace=timedelta(minutes=2), retention=None, clock=lambda: NOW
    )

    assert await maintenance.run() is None  # logged, not raised: the worker goes on
    assert (job.runs, job.failures, job.last_outcome) == (1, 1, "failed")
    assert job.last_error is not None and "CompactionError" in job.last_error
    assert len(data_files(closed)) == 4, "nothing merged or removed"

    broken.unlink()
    report = await maintenance.run()
    assert report is not None and report.hours_compacted == 1
    assert (job.runs, job.failures, job.last_outcome) == (2, 1, "ok")
    assert ids(root) == list(range(12))
