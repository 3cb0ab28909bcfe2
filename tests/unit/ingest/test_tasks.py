"""cancel_and_wait stops a child without swallowing the caller's own cancellation."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from ingest.tasks import cancel_and_wait


async def slow_to_stop(stopping: asyncio.Event, release: asyncio.Event) -> None:
    """A child that needs a moment to clean up once cancelled."""
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        stopping.set()
        await release.wait()
        raise


async def stop_child_then_loop(stop_child: object, child: asyncio.Task[None]) -> str:
    await stop_child(child)  # type: ignore[operator]
    return "went on after being cancelled"


async def suppressing(child: asyncio.Task[None]) -> None:
    child.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await child


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("stop_child", "propagates"), [(cancel_and_wait, True), (suppressing, False)]
)
async def test_the_callers_cancellation_propagates(stop_child: object, propagates: bool) -> None:
    stopping, release = asyncio.Event(), asyncio.Event()
    child = asyncio.create_task(slow_to_stop(stopping, release))
    await asyncio.sleep(0)
    caller = asyncio.create_task(stop_child_then_loop(stop_child, child))
    await stopping.wait()
    caller.cancel()  # while the caller waits for the child to finish
    release.set()
    if propagates:
        with pytest.raises(asyncio.CancelledError):
            await caller
    else:  # the old pattern: the hole this helper closes
        assert await caller == "went on after being cancelled"
    assert child.cancelled()
