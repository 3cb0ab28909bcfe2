"""Running several venue feeds side by side, each on its own.

Every feed runs in its own supervised task: a feed that crashes (a bug, an
unexpected answer) is logged and restarted after a back-off, and never takes
the other venues with it. Connection trouble never reaches this level: the
feed's connections handle it themselves.
"""

from __future__ import annotations

import asyncio
import logging
import random

from ingest.feed import VenueFeed

logger = logging.getLogger(__name__)

_RESTART_MIN_SECONDS, _RESTART_MAX_SECONDS = 1.0, 60.0


async def supervise(feed: VenueFeed) -> None:
    """Run ``feed`` until cancelled, restarting it after a crash."""
    attempt = 0
    while True:
        try:
            await feed.run()
            return
        except Exception:
            attempt += 1
            delay = min(_RESTART_MAX_SECONDS, _RESTART_MIN_SECONDS * 2**attempt)
            delay *= random.uniform(0.5, 1.0)  # noqa: S311  (jitter)
            logger.exception("%s feed crashed; restarting in %.1f s", feed.venue.name, delay)
            await asyncio.sleep(delay)


async def run_feeds(feeds: list[VenueFeed], stop: asyncio.Event) -> None:
    """Run every feed until ``stop`` is set, then cancel them and close their REST clients."""
    tasks = [asyncio.create_task(supervise(feed), name=f"feed-{feed.venue.name}") for feed in feeds]
    try:
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        # asyncio.wait raises our own cancellation only, never the feeds'.
        await asyncio.wait(tasks)
        for feed in feeds:
            if feed.rest is not None:
                await feed.rest.close()
