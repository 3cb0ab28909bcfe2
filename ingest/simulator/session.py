"""One client WebSocket connection: subscriptions, an ordered outgoing queue, timers.

Protocols and faults only queue messages (:meth:`Session.send`); one sender
task writes them in order, so a reply is never overtaken by market data.
A watchdog task enforces the maximum connection age, the venue's idle
timeout and the protocol's timer (Deribit heartbeats). Faults reach in
through :meth:`abort`, :meth:`stall` and :meth:`resend`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
from collections import deque
from typing import Protocol

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from ingest.simulator.protocols.base import Subscription, VenueProtocol
from ingest.simulator.stats import SimStats

logger = logging.getLogger(__name__)

#: Sent messages kept for the ``duplicate`` fault.
RECENT = 256
#: Close codes: policy violation (rate, slow consumer), and OKX's idle close.
POLICY_VIOLATION = 1008
IDLE_CLOSE = 4004

Queued = tuple[bytes | str, str | None]


class SessionHost(Protocol):
    """The settings a session reads live (faults may change them)."""

    stats: SimStats
    max_connection_age: float | None
    idle_timeout: float | None
    max_queue: int


class Session:
    """One client connection; implements :class:`~ingest.simulator.protocols.base.Connection`."""

    def __init__(
        self, websocket: ServerConnection, host: SessionHost, *, path: str, query: dict[str, str]
    ) -> None:
        self.websocket = websocket
        self.conn_id = secrets.token_hex(4)
        self.path = path
        self.query = query
        self.subscriptions: dict[str, Subscription] = {}
        self.combined = True
        self.heartbeat_interval: float | None = None
        self.heartbeat_pending = False
        self._host = host
        self._loop = asyncio.get_running_loop()
        self.opened = self.last_received = self._loop.time()
        self._queue: deque[Queued] = deque()
        self._recent: deque[Queued] = deque(maxlen=RECENT)
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._changed = asyncio.Event()
        self._close: tuple[int, str] | None = None
        self._timer_at: float | None = None
        self._stalled_until = 0.0
        self._deaf = False
        self._second = (0, 0)
        self._low_water = -1
        self._ended = False

    # -- what protocols use -------------------------------------------------------------

    def send(self, data: bytes | str, channel: str | None = None) -> None:
        if self._close is not None:
            return
        if len(self._queue) >= self._host.max_queue:
            self._queue.clear()
            self._room.set()
            self.close(POLICY_VIOLATION, "slow consumer")
            return
        self._queue.append((data, channel))
        self._wake.set()

    def close(self, code: int, reason: str) -> None:
        if self._close is None:
            logger.info("connection %s: closing (%d %s)", self.conn_id, code, reason)
            self._close = (code, reason)
            self._wake.set()

    def incoming_rate(self) -> int:
        second = math.floor(self._loop.time())
        start, count = self._second
        self._second = (second, count + 1 if start == second else 1)
        return self._second[1]

    def set_timer(self, delay: float | None) -> None:
        self._timer_at = None if delay is None else self._loop.time() + delay
        self._changed.set()

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def wait_room(self, high_water: int) -> None:
        """Return at once unless more than ``high_water`` messages are queued; then wait
        until half of them are sent (or the session has ended)."""
        if len(self._queue) <= high_water:
            return
        self._low_water = high_water // 2
        while len(self._queue) > self._low_water and not self._ended:
            self._room.clear()
            await self._room.wait()

    # -- what faults use ----------------------------------------------------------------

    def abort(self) -> None:
        """Drop the TCP connection at once: no close frame."""
        self.websocket.transport.abort()

    def stall(self, seconds: float, *, deaf: bool = False) -> None:
        """Send nothing for ``seconds``; ``deaf``: read nothing either (pings go unanswered)."""
        self._stalled_until = max(self._stalled_until, self._loop.time() + seconds)
        if deaf and not self._deaf:
            self._deaf = True
            self.websocket.transport.pause_reading()
        self._wake.set()

    def resend(self, count: int) -> None:
        """Send the last ``count`` messages again."""
        for data, channel in list(self._recent)[-count:]:
            self.send(data, channel)

    def last_sent(self) -> bytes | str | None:
        return self._recent[-1][0] if self._recent else None

    def changed(self) -> None:
        """A live setting changed: re-plan the timers."""
        self._changed.set()

    # -- running --------------------------------------------------------------------

    async def run(self, protocol: VenueProtocol) -> None:
        """Serve the connection until it closes, then stop the session's tasks."""
        tasks = [
            asyncio.create_task(self._send_loop(), name=f"simulator-send-{self.conn_id}"),
            asyncio.create_task(self._watch(protocol), name=f"simulator-watch-{self.conn_id}"),
        ]
        try:
            protocol.on_open(self)
            async for message in self.websocket:
                self.last_received = self._loop.time()
                protocol.on_message(self, message)
        except ConnectionClosed:
            pass
        finally:
            self._ended = True
            self._room.set()
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)

    async def _send_loop(self) -> None:
        stats = self._host.stats
        try:
            while True:
                stalled = self._stalled_until - self._loop.time()
                if stalled > 0:
                    await asyncio.sleep(stalled)
                    continue
                if self._deaf:
                    self._deaf = False
                    self.websocket.transport.resume_reading()
                if self._queue:
                    data, channel = item = self._queue.popleft()
                    if len(self._queue) <= self._low_water:
                        self._room.set()
                    await self.websocket.send(data, text=True)
                    stats.messages_sent[channel or "control"] += 1
                    self._recent.append(item)
                elif self._close is not None:
                    await self.websocket.close(*self._close)
                    return
                else:
                    self._wake.clear()
                    await self._wake.wait()
        except ConnectionClosed:
            return

    async def _watch(self, protocol: VenueProtocol) -> None:
        """Close at the maximum age or after the idle timeout; run the protocol's timer."""
        while self._close is None:
            self._changed.clear()
            now = self._loop.time()
            age, idle = self._host.max_connection_age, self._host.idle_timeout
            deadlines = [
                self.opened + age if age is not None else math.inf,
                self.last_received + idle if idle is not None else math.inf,
                self._timer_at if self._timer_at is not None else math.inf,
            ]
            if deadlines[0] <= now:
                self.close(1000, "maximum connection age reached")
            elif deadlines[1] <= now:
                self.close(IDLE_CLOSE, f"No data received in {idle:g}s.")
            elif deadlines[2] <= now:
                self._timer_at = None
                protocol.on_timer(self)
            else:
                wait = min(deadlines) - now
                try:
                    async with asyncio.timeout(None if wait == math.inf else wait):
                        await self._changed.wait()
                except TimeoutError:
                    pass
