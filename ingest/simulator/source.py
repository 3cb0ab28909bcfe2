"""What every market source shares: listeners, the one task that feeds them, pause/resume.

The task runs while at least one listener is attached (a started
:class:`~ingest.simulator.server.SimulatedExchange`), so several exchanges
can share a source, and the last one to stop stops it.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Iterable

from ingest.simulator.events import MarketListener, SimEvent

logger = logging.getLogger(__name__)


class SourceBase(ABC):
    def __init__(self, *, paused: bool = False) -> None:
        self._listeners: list[MarketListener] = []
        self._task: asyncio.Task[None] | None = None
        self._resumed = asyncio.Event()
        self._stopped = False
        if not paused:
            self._resumed.set()

    @abstractmethod
    async def _run(self) -> None:
        """Produce events with :meth:`publish` until cancelled."""

    @property
    def paused(self) -> bool:
        return not self._resumed.is_set()

    def pause(self) -> None:
        """Stop producing events (the source's state is kept; :meth:`resume` continues)."""
        self._resumed.clear()

    def resume(self) -> None:
        self._resumed.set()

    def client_subscribed(self) -> None:
        """A client of an attached exchange subscribed (a replay may start playing)."""
        return None

    async def attach(self, listener: MarketListener) -> None:
        """Feed ``listener``; the first listener starts the source's task."""
        if listener not in self._listeners:
            self._listeners.append(listener)
        if self._task is None and not self._stopped:
            self._task = asyncio.create_task(self._run(), name=f"simulator-{type(self).__name__}")
            self._task.add_done_callback(_log_failure)

    async def detach(self, listener: MarketListener) -> None:
        """Stop feeding ``listener``; the last one stops the task (and waits for it)."""
        if listener in self._listeners:
            self._listeners.remove(listener)
        if not self._listeners:
            await self._cancel()

    async def stop(self) -> None:
        """Stop for good: no more events, even if listeners remain."""
        self._stopped = True
        await self._cancel()

    def publish(self, events: Iterable[SimEvent]) -> None:
        listeners = tuple(self._listeners)
        for event in events:
            for listener in listeners:
                listener.on_event(event)

    async def _wait_resumed(self) -> bool:
        """Wait while paused; True when the source was paused (so pacing restarts)."""
        if self._resumed.is_set():
            return False
        await self._resumed.wait()
        return True

    async def _flow_control(self) -> None:
        """Yield to the loop, then wait until every listener has room again."""
        await asyncio.sleep(0)
        for listener in tuple(self._listeners):
            await listener.drained()

    async def _cancel(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("market source failed", exc_info=task.exception())
