"""unacked_batches: a sink's events in batches from its channel, acknowledged by the sink."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agents.storage import unacked_batches
from tests.unit.agents.test_batching import FakeStream, put


@pytest.mark.asyncio
async def test_batches_hold_at_most_max_and_nothing_is_acknowledged() -> None:
    stream, acked = FakeStream(), []
    put(stream, range(7), acked)
    seen: list[list[int]] = []
    batches: Any = unacked_batches(stream, 3, within=0.01)
    async for events in batches:
        seen.append([e.n for e in events])
        if sum(map(len, seen)) == 7:
            break
    await batches.aclose()
    assert seen == [[0, 1, 2], [3, 4, 5], [6]]
    assert acked == []  # the sink acknowledges once rows are durable


@pytest.mark.asyncio
async def test_a_batch_waits_within_for_more_events() -> None:
    stream, acked = FakeStream(), []
    put(stream, range(1), acked)
    batches: Any = unacked_batches(stream, 10, within=30.0)
    first = asyncio.ensure_future(batches.__anext__())
    await asyncio.sleep(0.05)
    assert not first.done()  # not full, and within not over: still gathering
    put(stream, range(1, 10), acked)
    events = await asyncio.wait_for(first, 10)
    assert [e.n for e in events] == list(range(10))
    await batches.aclose()


@pytest.mark.asyncio
async def test_the_batches_end_when_faust_stops_the_channel() -> None:
    stream, acked = FakeStream(), []
    put(stream, range(2), acked)
    got: list[int] = []

    async def consume() -> None:
        async for events in unacked_batches(stream, 5, within=0.01):
            got.extend(e.n for e in events)

    task = asyncio.ensure_future(consume())
    await asyncio.sleep(0.05)
    await stream.channel.queue.throw(StopAsyncIteration())
    await asyncio.wait_for(task, 10)
    assert got == [0, 1] and acked == []
