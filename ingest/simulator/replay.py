"""Replaying a recorded session (cryptofeed or hftbacktest format, gzipped or not).

Received messages are played in order to the clients subscribed to their
streams, at the recorded pace divided by ``speed`` (``speed=None``: as
fast as the clients read). REST depth requests are answered with the
recorded snapshot of the symbol: the last one recorded before the current
replay position, else the first. Timestamps inside the messages stay as
recorded, so clients parse them with ``max_clock_skew=None``; or, with
``rebase=True`` (Binance recordings), their event times are moved so that the
first message happens now, and the replay looks like a live market.

Playback starts when the first client subscribes (``autoplay``), or when
:meth:`ReplaySource.play` is called.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import orjson

from ingest.recording import RecordedMessage, read_recording
from ingest.registry import venue_for_recording, venue_for_url
from ingest.simulator.events import BookView, RecordedFrame, StatsUpdate, TradePrint
from ingest.simulator.source import SourceBase
from models.exceptions import ConfigError

_SESSION = re.compile(r"^(?P<name>.+)\.ws\.\d+\.\d+$")
_SYMBOL_PARAMS = ("symbol", "instId", "instrument_name")
_FLOW_EVERY = 64


class ReplaySource(SourceBase):
    def __init__(
        self,
        path: Path | str,
        *,
        speed: float | None = 1.0,
        autoplay: bool = True,
        snapshots: Path | str | None = None,
        rebase: bool = False,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.rebase = rebase
        if speed is not None and speed <= 0:
            raise ConfigError(f"replay speed must be positive (or None for maximum), not {speed}")
        self.speed = speed
        self.autoplay = autoplay
        self.played = 0
        self._venue: str | None = None
        self._snapshots: dict[str, list[tuple[datetime, str]]] = {}
        self._position: datetime | None = None
        self._play = asyncio.Event()
        self._finished = asyncio.Event()
        found = venue_for_recording(self.path)
        self._venue = found.name if found else None
        self._scan(self.path)
        sibling = Path(snapshots) if snapshots is not None else _http_sibling(self.path)
        if sibling is not None and sibling.is_file():
            self._scan(sibling)
        if self._venue is None:
            raise ConfigError(f"cannot tell which venue recorded {self.path}")
        if rebase and self._venue not in _REBASE_FIELDS:
            raise ConfigError(f"rebasing supports Binance recordings, not {self._venue}'s")

    # -- what exchanges read ------------------------------------------------------------

    @property
    def symbols(self) -> tuple[str, ...]:
        return ()

    def venue(self) -> str | None:
        return self._venue

    def book(self, symbol: str) -> BookView | None:
        return None

    def trades(self, symbol: str) -> Sequence[TradePrint]:
        return ()

    def stats(self, symbol: str) -> StatsUpdate | None:
        return None

    def recorded_snapshot(self, native: str) -> str | None:
        recorded = self._snapshots.get(native.upper())
        if not recorded:
            return None
        at = self._position
        earlier = [text for when, text in recorded if at is not None and when <= at]
        return earlier[-1] if earlier else recorded[0][1]

    # -- playback -----------------------------------------------------------------------

    def play(self) -> None:
        """Start playing now (without waiting for a subscription)."""
        self._play.set()

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    async def wait_finished(self) -> None:
        await self._finished.wait()

    def client_subscribed(self) -> None:
        if self.autoplay:
            self._play.set()

    async def _run(self) -> None:
        await self._play.wait()
        loop = asyncio.get_running_loop()
        origin: tuple[float, datetime] | None = None
        shift: int | None = None
        for message in self._received():
            if self.rebase:
                if shift is None:
                    shift = _ms(datetime.now(UTC)) - _ms(message.received_at)
                message = _rebased(message, shift, _REBASE_FIELDS[str(self._venue)])
            if await self._wait_resumed():
                origin = None
            if self.speed is not None:
                if origin is None:
                    origin = (loop.time(), message.received_at)
                offset = (message.received_at - origin[1]).total_seconds() / self.speed
                delay = origin[0] + offset - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            self._position = message.received_at
            self.publish([RecordedFrame(message)])
            self.played += 1
            if self.played % _FLOW_EVERY == 0:
                await self._flow_control()
        self._finished.set()

    def _received(self) -> Iterator[RecordedMessage]:
        return (m for m in read_recording(self.path) if m.direction == "received")

    # -- reading the recording ----------------------------------------------------------

    def _scan(self, path: Path) -> None:
        """Find the venue and the REST depth snapshots (by native symbol) of a recording."""
        stream_symbol: str | None = None
        pending: list[RecordedMessage] = []
        for message in read_recording(path):
            if message.source and message.direction in ("opened", "rest") and not self._venue:
                found = venue_for_url(message.source)
                self._venue = found.name if found else None
            if message.direction == "received" and "@" in message.source:
                stream_symbol = message.source.partition("@")[0].upper()
                for snapshot in pending:
                    self._add(stream_symbol, snapshot)
                pending.clear()
            if message.direction != "rest" or '"lastUpdateId"' not in message.text[:40]:
                continue
            query = dict(parse_qsl(urlsplit(message.source).query))
            symbol = next((query[p] for p in _SYMBOL_PARAMS if p in query), stream_symbol)
            if symbol is None:
                pending.append(message)  # hftbacktest: the snapshot before any stream message
            else:
                self._add(symbol, message)

    def _add(self, native: str, message: RecordedMessage) -> None:
        self._snapshots.setdefault(native.upper(), []).append((message.received_at, message.text))


#: Venue -> the millisecond event-time fields of its stream messages' ``data``.
_REBASE_FIELDS: dict[str, tuple[str, ...]] = {
    "binance": ("E", "T"),
    "binance_futures": ("E", "T"),
}


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _rebased(message: RecordedMessage, shift_ms: int, fields: tuple[str, ...]) -> RecordedMessage:
    """``message`` as if it happened ``shift_ms`` later: its event times moved, the rest kept."""
    try:
        parsed = orjson.loads(message.text)
    except orjson.JSONDecodeError:
        return message
    data = parsed.get("data") if isinstance(parsed, dict) else None
    if not isinstance(data, dict):
        return message
    for name in fields:
        if isinstance(data.get(name), int):
            data[name] += shift_ms
    # received_at stays as recorded: the REST snapshots are matched against it.
    return message._replace(text=orjson.dumps(parsed).decode())


def _http_sibling(path: Path) -> Path | None:
    """``BINANCE.ws.1.0`` -> ``BINANCE.http.0.0`` (cryptofeed's REST answers of the session)."""
    match = _SESSION.match(path.name)
    return path.with_name(f"{match['name']}.http.0.0") if match else None
