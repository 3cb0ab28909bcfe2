"""One WebSocket connection of a venue, kept alive forever.

A :class:`Connection` owns a fixed set of subscriptions and replaces its
WebSocket (a *session*) whenever it dies, goes stale or ages out:

- heartbeats per the venue's declaration: WebSocket pings for all, a text
  ping when idle (OKX), answers to the venue's probes (Deribit);
- a watchdog with per-channel thresholds: a book silent for 15 s means a
  dead stream, a quiet liquidation channel means nothing;
- reconnects with capped exponential back-off and full jitter;
- make-before-break before the venue's forced disconnect (Binance, 24 h): the
  new session subscribes while the old one still delivers, then the old one
  is drained and closed, and the new one's frames follow in order.

Frames are handed to a :class:`FrameHandler` (the venue feed) from one
consumer task, in arrival order, one session after the other. The handler
reports back which channels carried data (:meth:`Connection.touch`). Nothing
here knows one venue from another.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import count
from typing import Any, Protocol

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from ingest.options import FeedOptions
from ingest.tasks import cancel_and_wait
from ingest.venue import Venue

logger = logging.getLogger(__name__)

#: Frames a session may hold before its consumer takes them (back-pressure beyond).
_QUEUE_FRAMES = 10_000
#: A session that lived this long resets the back-off.
_HEALTHY_SECONDS = 60.0
#: The make-before-break switch waits at least this long after the new session subscribed.
_SWITCH_SETTLE_SECONDS = 1.0
_TICK_SECONDS = 0.25
_CONNECT_ERRORS = (OSError, TimeoutError, WebSocketException)


def utc_now() -> datetime:
    return datetime.now(UTC)


class FrameHandler(Protocol):
    async def on_frame(self, connection: Connection, raw: str | bytes, at: datetime) -> None:
        """One frame of the connection's current session, in order."""

    async def on_session_start(self, connection: Connection, *, switch: bool) -> None:
        """A session starts delivering (``switch``: it replaces a live one seamlessly)."""

    async def on_session_lost(self, connection: Connection, reason: str) -> None:
        """The session ended without a replacement; data may be missing until the next."""


@dataclass
class ConnectionStats:
    connects: int = 0
    failed_connects: int = 0
    disconnects: Counter[str] = field(default_factory=Counter)
    rotations: int = 0
    frames: int = 0
    bytes: int = 0
    text_pings: int = 0
    replies: int = 0
    last_error: str | None = None
    connected: bool = False
    connected_since: datetime | None = None  #: start of the live session (wall clock)
    last_disconnect: str | None = None  #: why the last session ended without a replacement
    last_disconnect_at: datetime | None = None


_END = object()


class _Session:
    """One WebSocket; its reader task queues frames for the consumer."""

    def __init__(self, number: int, websocket: ClientConnection, clock: Callable[[], float]):
        self.number = number
        self.websocket = websocket
        self.opened = clock()
        self.last_frame = self.opened
        self.last_ping = self.opened
        self.frames = 0
        self.queue: asyncio.Queue[Any] = asyncio.Queue(_QUEUE_FRAMES)
        self.reader: asyncio.Task[None] | None = None
        #: Set when a make-before-break replacement takes over after this session.
        self.successor: _Session | None = None
        self.end_reason = "closed by the venue"
        self.closing = False

    async def close(self, reason: str, *, polite: bool = True) -> None:
        """Close with the handshake (``polite``) or drop the TCP connection at once:
        a stalled venue would never answer the close handshake."""
        if self.closing:
            return
        self.closing = True
        self.end_reason = reason
        if polite:
            with contextlib.suppress(*_CONNECT_ERRORS):
                await asyncio.wait_for(self.websocket.close(), 1.0)
        self.websocket.transport.abort()


class Connection:
    """A venue connection carrying ``subscriptions`` (the venue's subscribe messages)
    for ``channels`` of ``symbols``; :meth:`run` until cancelled."""

    _numbers = count(1)

    def __init__(
        self,
        venue: Venue,
        url: str,
        *,
        symbols: list[str],
        channels: list[str],
        handler: FrameHandler,
        options: FeedOptions,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = utc_now,
    ) -> None:
        self.venue = venue
        self.url = url
        self.symbols = symbols
        self.channels = channels
        self.name = f"{venue.name}#{next(self._numbers)}"
        self.stats = ConnectionStats()
        self._subscriptions = venue.subscribe_messages(symbols, channels)
        self._handler = handler
        self._options = options
        self._clock = clock
        self._wall = wall
        self._sessions = count(1)
        self._session: _Session | None = None
        self._seen: dict[str, float] = {}
        max_age = options.max_connection_age_seconds or venue.max_connection_age
        self._rotate_after = (
            None if max_age is None else max(max_age - options.rotate_before_seconds, max_age / 2)
        )

    # -- for the handler -------------------------------------------------------------

    def touch(self, channel: str) -> None:
        """Data arrived on ``channel`` (feeds the staleness watchdog)."""
        self._seen[channel] = self._clock()

    async def send(self, message: Any) -> bool:
        """Send on the live session (e.g. to resubscribe one book); False if none."""
        session = self._session
        if session is None:
            return False
        try:
            await session.websocket.send(orjson.dumps(message).decode())
        except _CONNECT_ERRORS:
            return False
        return True

    # -- the loop --------------------------------------------------------------------

    async def run(self) -> None:
        attempt = 0
        while True:
            try:
                session = await self._open()
            except _CONNECT_ERRORS as exc:
                self.stats.failed_connects += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                logger.warning("%s: connecting to %s failed: %s", self.name, self.url, exc)
                await asyncio.sleep(self._backoff(attempt))
                attempt += 1
                continue
            reason = await self._serve(session)
            lived = self._clock() - session.opened
            self.stats.disconnects[reason] += 1
            self.stats.last_disconnect, self.stats.last_disconnect_at = reason, self._wall()
            logger.warning("%s: session %d ended: %s", self.name, session.number, reason)
            await self._handler.on_session_lost(self, reason)
            attempt = 0 if lived >= _HEALTHY_SECONDS else attempt + 1
            await asyncio.sleep(self._backoff(attempt))

    async def _open(self) -> _Session:
        """Connect, send the venue's connect messages and subscriptions, start reading."""
        websocket = await connect(
            self.url,
            open_timeout=10,
            ping_interval=20,
            ping_timeout=20,
            close_timeout=2,
            max_size=self._options.max_frame_bytes,
            max_queue=64,
        )
        session = _Session(next(self._sessions), websocket, self._clock)
        session.reader = asyncio.create_task(self._read(session), name=f"{self.name}-read")
        try:
            pause = 1.1 / self.venue.max_messages_per_second
            for message in [*self.venue.connect_messages(), *self._subscriptions]:
                await websocket.send(orjson.dumps(message).decode())
                await asyncio.sleep(pause)
        except BaseException:
            session.reader.cancel()
            await session.close("subscription failed")
            raise
        self.stats.connects += 1
        return session

    async def _read(self, session: _Session) -> None:
        reply = self.venue.reply
        try:
            async for raw in session.websocket:
                at = self._wall()
                session.last_frame = self._clock()
                session.frames += 1
                answer = reply(raw)
                if answer is not None:
                    self.stats.replies += 1
                    await session.websocket.send(orjson.dumps(answer).decode())
                await session.queue.put((raw, at))
        except WebSocketException as exc:
            if session.end_reason == "closed by the venue":
                session.end_reason = f"connection lost ({type(exc).__name__}: {exc})"
        finally:
            await session.queue.put(_END)

    async def _serve(self, session: _Session) -> str:
        """Deliver ``session`` (and the sessions that replace it) until one dies."""
        self._session = session
        self._seen.clear()
        self.stats.connected, self.stats.connected_since = True, self._wall()
        await self._handler.on_session_start(self, switch=False)
        watchdog = asyncio.create_task(self._watch(), name=f"{self.name}-watch")
        try:
            while True:
                item = await self._session.queue.get()
                if item is _END:
                    current = self._session
                    successor = current.successor
                    if successor is None:
                        return current.end_reason
                    self._session = successor
                    self._seen.clear()
                    await self._handler.on_session_start(self, switch=True)
                    continue
                raw, at = item
                self.stats.frames += 1
                self.stats.bytes += len(raw)
                await self._handler.on_frame(self, raw, at)
        finally:
            try:
                await cancel_and_wait(watchdog)
            finally:
                await self._close_sessions()

    async def _close_sessions(self) -> None:
        live: _Session | None = self._session
        self._session = None
        self.stats.connected = False
        while live is not None:
            if live.reader is not None:
                live.reader.cancel()
            await live.close(live.end_reason)
            live = live.successor

    async def _watch(self) -> None:
        """Staleness, idle pings and the make-before-break rotation of the live session."""
        while True:
            await asyncio.sleep(_TICK_SECONDS)
            session = self._session
            if session is None or session.closing or session.successor is not None:
                continue
            now = self._clock()
            stale = self._stale_channel(session, now)
            if stale is not None:
                logger.warning("%s: no %s data for too long; reconnecting", self.name, stale)
                await session.close(f"stale {stale}", polite=False)
                continue
            ping = self.venue.ping_text
            idle = self._options.ping_seconds
            # The venue closes connections the *client* is silent on, however busy the
            # stream: ping on our own silence, not on the venue's.
            if ping and now - session.last_ping >= idle:
                session.last_ping = now
                self.stats.text_pings += 1
                with contextlib.suppress(*_CONNECT_ERRORS):
                    await session.websocket.send(ping)
            if self._rotate_after is not None and now - session.opened >= self._rotate_after:
                await self._rotate(session)

    def silences(self) -> dict[str, float]:
        """Seconds each watched channel has gone without data in the live session, as
        the watchdog measures it (from the session's start until the first data); empty
        without a live session. Compare with :meth:`stale_after`."""
        session = self._session
        if session is None:
            return {}
        now = self._clock()
        return {channel: self._silence(session, channel, now) for channel in self.channels}

    def stale_after(self, channel: str) -> float | None:
        """The silence after which the watchdog replaces the session (None: never)."""
        return self._options.stale_seconds.get(channel)

    def _silence(self, session: _Session, channel: str, now: float) -> float:
        return now - self._seen.get(channel, session.opened)

    def _stale_channel(self, session: _Session, now: float) -> str | None:
        for channel in self.channels:
            limit = self.stale_after(channel)
            if limit is not None and self._silence(session, channel, now) > limit:
                return channel
        return None

    async def _rotate(self, old: _Session) -> None:
        """Open the replacement, let it overlap the old session, then retire the old one."""
        try:
            new = await self._open()
        except _CONNECT_ERRORS as exc:
            logger.warning("%s: replacement connection failed (%s); retrying later", self.name, exc)
            old.opened += min(60.0, self._rotate_after or 60.0) / 4  # try again a little later
            return
        deadline = new.opened + self._options.switch_timeout_seconds
        while self._clock() < deadline and new.reader is not None and not new.reader.done():
            settled = self._clock() - new.opened >= _SWITCH_SETTLE_SECONDS
            if settled and new.frames > 0:
                break
            await asyncio.sleep(_TICK_SECONDS / 5)
        if new.reader is None or new.reader.done():
            logger.warning("%s: replacement session died during the overlap", self.name)
            await new.close("replacement failed")
            old.opened += 30.0
            return
        self.stats.rotations += 1
        old.successor = new  # the consumer moves on to it after the old session's last frame
        logger.info("%s: switching to session %d (make-before-break)", self.name, new.number)
        await old.close("rotated")

    def _backoff(self, attempt: int) -> float:
        low, high = self._options.reconnect_min_seconds, self._options.reconnect_max_seconds
        return random.uniform(low, min(high, low * 2**attempt))  # noqa: S311  (jitter)
