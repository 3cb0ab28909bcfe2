"""The periodic-job registry: what a run records, and when the next one is due."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from app.health.model import to_json
from app.scheduler import Cron, Every, OnDemand, Scheduler, recorded


@pytest.mark.asyncio
async def test_a_run_records_its_times_result_and_the_next_run() -> None:
    scheduler = Scheduler()
    job = scheduler.polling("poll.okx.open_interest", 900.0)
    assert job.next_run_at() == job.schedule.next_run(None), "a poll runs at once"
    async with job.run() as run:
        assert job.running is run and job.next_run_at() is None
        run.result = {"symbols": 3}
    assert (job.runs, job.failures, job.last_outcome, job.last_result) == (
        1,
        0,
        "ok",
        {"symbols": 3},
    )
    assert job.last_started_at is not None and job.last_finished_at is not None
    assert job.last_started_at <= job.last_finished_at
    assert job.next_run_at() == job.last_finished_at + timedelta(seconds=900)


@pytest.mark.asyncio
async def test_errors_inside_a_run_and_exceptions_are_recorded() -> None:
    job = Scheduler().add("poll.x", Every(60.0, immediate=False))
    async with job.run():
        job.error("BTC-USDT: 429 Too Many Requests")  # the round goes on
    assert (job.runs, job.failures, job.last_outcome) == (1, 1, "failed")
    assert job.last_error == "BTC-USDT: 429 Too Many Requests"

    with pytest.raises(RuntimeError, match="boom"):
        async with job.run():
            raise RuntimeError("boom")
    assert (job.runs, job.failures, job.last_error) == (2, 2, "RuntimeError: boom")

    async with job.run():
        pass
    assert (job.runs, job.failures, job.last_outcome) == (3, 2, "ok")
    assert job.last_error == "RuntimeError: boom", "the last error stays on show"


@pytest.mark.asyncio
async def test_a_cancelled_run_is_not_a_failure() -> None:
    job = Scheduler().add("flush", Every(0.1))
    started = asyncio.Event()

    async def forever() -> None:
        async with job.run():
            started.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(forever())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (job.runs, job.failures, job.last_outcome, job.last_error) == (1, 0, "cancelled", None)


def test_cron_next_run_is_the_next_time_the_expression_names() -> None:
    cron = Cron("5 * * * *")
    before = datetime.now(UTC)
    due = cron.next_run(None)
    assert (due.minute, due.second, due.microsecond) == (5, 0, 0)
    assert before < due <= before + timedelta(hours=1)
    seconds = Cron("* * * * * */2").next_run(None)  # a sixth field: seconds
    assert seconds.second % 2 == 0 and seconds - before <= timedelta(seconds=2)


def test_the_document_lists_every_job_as_json() -> None:
    scheduler = Scheduler()
    scheduler.add("parquet.compaction", Cron("5 * * * *"), description="compact", leader_only=True)
    scheduler.polling("poll.binance_futures.open_interest", 0.5)
    with pytest.raises(ValueError, match="already registered"):
        scheduler.polling("poll.binance_futures.open_interest", 1.0)
    document = orjson.loads(to_json(scheduler.document()))
    compaction, poll = document["jobs"]
    assert compaction["schedule"] == {"cron": "5 * * * *", "timezone": "UTC"}
    assert compaction["leader_only"] is True and compaction["runs"] == 0
    assert compaction["next_run_at"].endswith(":05:00+00:00")
    assert poll["schedule"] == {"every_seconds": 0.5} and poll["last_run"]["outcome"] is None


@pytest.mark.asyncio
async def test_consecutive_failures_count_until_a_run_goes_well() -> None:
    job = Scheduler().polling("poll.okx.open_interest", 900.0)
    registered = job.registered_at
    for expected in (1, 2):
        async with job.run():
            job.error("BTC-USDT: 400 Invalid symbol")
        assert (job.consecutive_failures, job.last_success_at) == (expected, None)
    async with job.run():
        pass
    assert job.consecutive_failures == 0 and job.failures == 2
    assert job.last_success_at == job.last_finished_at and job.last_success_at >= registered
    document = orjson.loads(to_json(job.document()))
    assert document["consecutive_failures"] == 0
    assert document["last_success_at"] == document["last_run"]["finished_at"]


@pytest.mark.asyncio
async def test_timers_and_on_demand_jobs_and_which_jobs_are_polls() -> None:
    scheduler = Scheduler()
    poll = scheduler.polling("poll.okx.open_interest", 900.0)
    timer = scheduler.every("windows.close_idle", 1.0, description="close quiet windows")
    backfill = scheduler.on_demand("trade_backfill.okx", trigger="a gap in the trade ids")
    assert scheduler.polls == [poll], "only REST polls make ingest not ready"
    assert timer.schedule == Every(1.0, immediate=False, started=timer.schedule.started)
    assert timer.next_run_at() == timer.schedule.started + timedelta(seconds=1)
    assert backfill.schedule == OnDemand("a gap in the trade ids")
    assert backfill.next_run_at() is None and backfill.schedule.period_seconds is None
    assert (poll.schedule.period_seconds, timer.schedule.period_seconds) == (900.0, 1.0)
    document = orjson.loads(to_json(scheduler.document()))
    assert [job["schedule"] for job in document["jobs"]] == [
        {"every_seconds": 900.0},
        {"every_seconds": 1.0},
        {"on_demand": "a gap in the trade ids"},
    ]


@pytest.mark.asyncio
async def test_recorded_makes_every_call_of_a_timer_one_run() -> None:
    job = Scheduler().every("windows.close_idle", 1.0, description="close quiet windows")
    calls: list[int] = []

    async def close_idle() -> int:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("table gone")
        return len(calls)

    tick = recorded(job, close_idle)
    await tick()
    assert (job.runs, job.failures, job.last_result) == (1, 0, 1)
    with pytest.raises(RuntimeError, match="table gone"):
        await tick()
    assert (job.runs, job.failures, job.last_error) == (2, 1, "RuntimeError: table gone")
