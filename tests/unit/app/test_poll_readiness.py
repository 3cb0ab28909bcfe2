"""Ingest is not ready while a REST poll keeps failing, and ready again once it works."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.health.ingest_health import IngestHealth, PollLimits, poll_check
from app.scheduler import Job, Scheduler
from app.settings import load_settings

LIMITS = PollLimits(failures=3, stale_intervals=3.0)


async def failed_round(
    job: Job, error: str = "BTC-USDT-PERP: GET /fapi/v1/openInterest: 400"
) -> None:
    async with job.run():
        job.error(error)


async def good_round(job: Job) -> None:
    async with job.run():
        pass


@pytest.mark.asyncio
async def test_three_failed_rounds_in_a_row_are_not_ready_until_one_goes_well() -> None:
    jobs = Scheduler()
    poll = jobs.polling("poll.binance_futures.open_interest", 60.0)
    health = IngestHealth([], None, jobs=jobs, limits=LIMITS)
    await good_round(poll)
    for _ in range(2):
        await failed_round(poll)
    assert health.readiness().ready, "two failed rounds: still ready"

    await failed_round(poll)
    readiness = health.readiness()
    assert not readiness.ready
    assert readiness.reasons == [
        "poll.binance_futures.open_interest: its last 3 rounds failed (last error: "
        "BTC-USDT-PERP: GET /fapi/v1/openInterest: 400)"
    ]
    (check,) = readiness.checks
    assert check.detail["consecutive_failures"] == 3 and check.detail["every_seconds"] == 60.0

    await good_round(poll)
    assert health.readiness().ready


@pytest.mark.asyncio
async def test_no_good_round_for_more_than_the_intervals_is_not_ready() -> None:
    poll = Scheduler().polling("poll.okx.funding", 10.0)
    start = poll.registered_at
    assert poll_check(poll, start + timedelta(seconds=29), LIMITS).ok
    check = poll_check(poll, start + timedelta(seconds=31), LIMITS)
    assert check.reason == (
        "poll.okx.funding: no round has gone well for 31.0 s (3 intervals of 10 s)"
    )

    await good_round(poll)
    assert poll.last_success_at is not None
    assert poll_check(poll, poll.last_success_at + timedelta(seconds=29), LIMITS).ok
    await failed_round(poll, "BTC-USDT: 503 gave up")
    late = poll_check(poll, poll.last_success_at + timedelta(seconds=45), LIMITS)
    assert late.reason == (
        "poll.okx.funding: no good round for 45.0 s (3 intervals of 10 s) "
        "(last error: BTC-USDT: 503 gave up)"
    )


def test_the_limits_come_from_the_polling_settings() -> None:
    assert PollLimits.of(load_settings().polling) == PollLimits(3, 3.0)
    settings = load_settings(polling={"ready_failures": 5, "ready_stale_intervals": 2.5})
    assert PollLimits.of(settings.polling) == PollLimits(5, 2.5)
