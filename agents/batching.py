"""An agent's events in batches, taken straight from its channel.

Faust's ``Stream.take_events`` moves every event through the stream's own
iteration (a background drainer task, sensors, processors, the current-event
context) before it reaches the buffer it yields: several microseconds an
event, more than the windows spend on a trade. :func:`take_batches` takes the
events from the queue the consumer fills for the agent's channel, in batches
of at most ``max_`` gathered for at most ``within`` seconds after the first,
and acknowledges a batch once the loop body is done with it (in a ``finally``,
as ``take_events`` does; Faust commits acknowledged offsets only after the
changelog writes were flushed).

The agent is the channel's only reader, so events go nowhere else. At a
rebalance Faust clears the channel's queue (flow control) and reads on from
the committed offsets, as it does for a stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from faust.types import EventT

POLL_SECONDS = 0.005  #: how often a batch that is not full looks for more events


async def take_batches(stream: Any, max_: int, within: float) -> AsyncIterator[list[EventT[Any]]]:
    """Batches of the events of an agent's ``stream``, each acknowledged after use; ends
    when Faust stops the channel (it throws ``StopAsyncIteration`` into the queue; the
    events gathered then are left unacknowledged, for the partition's next reader)."""
    queue = stream.channel.queue
    loop = asyncio.get_running_loop()
    while True:
        try:
            events = await _gather(queue, max_, within, loop)
        except StopAsyncIteration:
            return
        try:
            yield events
        finally:
            for event in events:
                event.ack()


async def _gather(
    queue: Any, max_: int, within: float, loop: asyncio.AbstractEventLoop
) -> list[EventT[Any]]:
    """The next event, and those that follow within ``within`` seconds (at most ``max_``)."""
    events = [await queue.get()]
    deadline = loop.time() + within
    while True:
        while len(events) < max_ and not queue.empty():
            events.append(queue.get_nowait())
        remaining = deadline - loop.time()
        if len(events) >= max_ or remaining <= 0:
            return events
        await asyncio.sleep(min(POLL_SECONDS, remaining))
