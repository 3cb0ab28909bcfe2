"""take_batches: an agent's events in batches from its channel, acknowledged after use."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from mode.utils.queues import FlowControlEvent, ThrowableQueue

from agents.batching import take_batches
from tests.waiting import eventually


@dataclass
class FakeEvent:
    n: int
    acked: list[int]

    def ack(self) -> bool:
        self.acked.append(self.n)
        return True


@dataclass
class FakeChannel:
    """What take_batches uses of a Faust channel: its queue (mode's, as Faust's is)."""

    queue: ThrowableQueue[FakeEvent] = field(
        default_factory=lambda: ThrowableQueue(flow_control=FlowControlEvent())
    )


@dataclass
class FakeStream:
    channel: FakeChannel = field(default_factory=FakeChannel)


def put(stream: FakeStream, numbers: range, acked: list[int]) -> None:
    for n in numbers:
        stream.channel.queue.put_nowait(FakeEvent(n, acked))


@pytest.mark.asyncio
async def test_batches_hold_at_most_max_and_are_acked_after_the_loop_body() -> None:
    stream, acked = FakeStream(), []
    put(stream, range(7), acked)
    seen: list[list[int]] = []
    batches: Any = take_batches(stream, 3, within=0.01)
    async for events in batches:
        assert not set(acked) & {e.n for e in events}  # not before the body is done
        seen.append([e.n for e in events])
        if sum(map(len, seen)) == 7:
            break
    await batches.aclose()
    assert seen == [[0, 1, 2], [3, 4, 5], [6]]
    assert acked == list(range(7))


@pytest.mark.asyncio
async def test_a_batch_waits_for_more_events_within_its_window() -> None:
    stream, acked = FakeStream(), []
    put(stream, range(1), acked)
    batches: Any = take_batches(stream, 2, within=60.0)
    first = asyncio.ensure_future(anext(batches))
    await asyncio.sleep(0)
    assert not first.done()  # one event, a window of a minute: it waits for the second
    put(stream, range(1, 2), acked)
    await eventually(first.done, within=30.0)
    assert [e.n for e in first.result()] == [0, 1]
    await batches.aclose()
    assert acked == [0, 1]


@pytest.mark.asyncio
async def test_batches_end_when_faust_stops_the_channel() -> None:
    stream, acked = FakeStream(), []
    put(stream, range(2), acked)
    batches: Any = take_batches(stream, 10, within=0.01)
    assert [e.n for e in await anext(batches)] == [0, 1]
    put(stream, range(2, 3), acked)
    stream.channel.queue._throw(StopAsyncIteration())  # what Faust does when it stops
    with pytest.raises(StopAsyncIteration):
        await anext(batches)
    assert acked == [0, 1]  # the event gathered when it stopped is left for the next reader
