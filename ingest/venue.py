"""The declarative base of every exchange adapter, and its pure parsing contract.

A venue module subclasses :class:`Venue` with its endpoints, channel names,
limits and symbol rules, and implements ``_dispatch`` (one decoded message ->
records). Everything shared lives here: JSON decoding, symbol lookup, the
event-time plausibility check and turning any failure into a
:class:`~models.DeadLetter`. :meth:`Venue.parse` never raises and needs no
connection, so recorded lines can be fed to it directly.

The hot path: :meth:`Venue.source_of` keeps, per native symbol, the shared event
fields validated once (an :class:`~models.base.EventSource`); the venue checks
each wire value with ``ingest.wire``'s readers and builds records with
:meth:`~models.MarketEvent.trusted`, which skips re-validating them (or, for the
busiest shapes, with the one-step builders beside the models, such as
``models.trade.checked_trade``). ``full_validation=True`` validates every record
in full instead (the reference the fast path is tested against).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

import orjson
from pydantic import ValidationError

from ingest.sequence_rules import SequenceRule
from ingest.wire import DepthSnapshot, depth_snapshot_reason, validation_reason
from models import DeadLetter, Instrument, InstrumentType, MarketEvent, Record
from models.base import EventSource
from models.exceptions import ConfigError, DecodeError

#: Live default: an event more than this far from its receive time is dead-lettered.
#: Replays of old recordings pass ``max_clock_skew=None``.
DEFAULT_MAX_CLOCK_SKEW = timedelta(minutes=5)

#: Our channel names, the same for every venue.
CHANNELS = ("trades", "ticker", "book", "funding", "open_interest", "liquidations")

#: Turns one decoded message into records; raises on bad input.
Handler = Callable[[Any, datetime], list[Record]]


class Venue(ABC):
    """One exchange: endpoints, channels, limits, symbols, and ``parse``.

    Instances are cheap and hold only configuration and a symbol cache.
    ``symbols``, when given, is the complete set of canonical symbols this
    instance accepts; any other native symbol is an *unknown symbol*.
    Without it, every symbol the venue's naming rule understands is accepted.
    ``full_validation`` makes every record go through pydantic validation
    (slower; the same records).
    """

    #: Exchange id as used in the models (``binance``, ``okx``, ...).
    name: ClassVar[str]
    ws_url: ClassVar[str]
    rest_url: ClassVar[str]
    #: Hosts whose recorded URLs identify this venue (REST and WebSocket).
    hosts: ClassVar[tuple[str, ...]]
    #: hftbacktest file-name prefixes identifying this venue (``spot_btcusdt_...``).
    recording_prefixes: ClassVar[tuple[str, ...]] = ()
    #: Our channel -> the venue's stream/channel name, for streamed channels.
    channels: ClassVar[Mapping[str, str]]
    #: Our channel -> REST path, for channels that are polled instead of streamed.
    polled_channels: ClassVar[Mapping[str, str]] = {}
    #: REST path of the full order-book snapshot, where the book needs one
    #: (otherwise the snapshot arrives on the WebSocket when the book is subscribed).
    depth_snapshot_path: ClassVar[str | None] = None
    #: How the venue's book deltas chain onto a snapshot and onto each other.
    book_rule: ClassVar[SequenceRule]
    #: Plain-text frames that are protocol control messages (e.g. OKX ``pong``).
    control_texts: ClassVar[frozenset[str]] = frozenset()
    max_streams_per_connection: ClassVar[int]
    max_messages_per_second: ClassVar[int]
    rest_weight_per_minute: ClassVar[int | None] = None
    #: Text frame the venue wants when the connection is idle (OKX ``ping``);
    #: None when WebSocket ping frames are the heartbeat.
    ping_text: ClassVar[str | None] = None
    #: The venue closes every connection after this many seconds (Binance: 24 h);
    #: the connection layer replaces it before then, make-before-break.
    max_connection_age: ClassVar[float | None] = None
    #: Weight of one depth snapshot request (for the REST weight budget).
    depth_snapshot_weight: ClassVar[int] = 1
    #: REST path of the public trade history that backfills missed trades.
    trade_history_path: ClassVar[str | None] = None
    trade_history_weight: ClassVar[int] = 1
    #: History pages run newest first (OKX) rather than oldest first.
    trade_history_descending: ClassVar[bool] = False
    #: Trade sequence numbers have no holes (Binance aggregate ids, Deribit
    #: ``trade_seq``), so a jump in the live stream is a gap by itself.
    contiguous_trade_ids: ClassVar[bool] = False

    def __init__(
        self,
        *,
        max_clock_skew: timedelta | None = DEFAULT_MAX_CLOCK_SKEW,
        symbols: Iterable[str] | None = None,
        full_validation: bool = False,
    ) -> None:
        self.max_clock_skew = max_clock_skew
        self.source = f"ingest:{self.name}"
        self._trust = not full_validation
        self._sources: dict[str, EventSource] = {}
        self._closed = symbols is not None
        for symbol in symbols or ():
            native = self.to_native(symbol)
            self._sources[native] = self._new_source(native, symbol)
        self._rest_handlers: dict[str, Handler] = {}

    # -- what each venue provides -------------------------------------------------

    @abstractmethod
    def to_native(self, symbol: str) -> str:
        """Canonical symbol -> the venue's own; ``ValueError`` if it has none."""

    @abstractmethod
    def native_to_canonical(self, native: str) -> str | None:
        """The venue's naming rule: native symbol -> canonical, or None if not understood."""

    @abstractmethod
    def subscribe_messages(self, symbols: Iterable[str], channels: Iterable[str]) -> list[Any]:
        """The messages that subscribe ``symbols`` x ``channels`` (streamed channels only)."""

    @abstractmethod
    def _dispatch(self, message: Any, received_at: datetime) -> list[Record]:
        """One decoded WebSocket message -> records; raise with the reason on bad input."""

    def _snapshot(self, message: Any, received_at: datetime, native: str) -> DepthSnapshot:
        raise DecodeError(f"{self.name} has no REST depth snapshot")

    def _trade_history(self, message: Any, received_at: datetime, native: str) -> list[Record]:
        raise DecodeError(f"{self.name} has no REST trade history")

    def unsubscribe_messages(self, symbols: Iterable[str], channels: Iterable[str]) -> list[Any]:
        """The messages that undo :meth:`subscribe_messages` (to resync one book)."""
        return []

    def connect_messages(self) -> list[Any]:
        """Requests sent once right after connecting (e.g. Deribit's heartbeat setup)."""
        return []

    def reply(self, raw: str | bytes) -> Any | None:
        """The answer a protocol control frame demands (Deribit ``test_request``), or None."""
        return None

    def poll_params(self, channel: str, native: str) -> dict[str, str]:
        """Query of a polled channel's REST request for ``native``."""
        return {"symbol": native}

    def depth_snapshot_params(self, native: str) -> dict[str, str]:
        """Query of the REST depth snapshot of ``native``."""
        return {"symbol": native}

    def trade_history_params(
        self, native: str, *, after: int, before: int | None, cursor: int | None
    ) -> dict[str, str]:
        """Query of one trade-history page: trades with ``after < id < before``.

        ``cursor`` is None for the first page, then the next id to read from
        (ascending) or to read below (descending).
        """
        raise NotImplementedError(f"{self.name} has no REST trade history")

    # -- shared -------------------------------------------------------------------

    def to_canonical(self, native: str) -> str | None:
        """Native symbol -> canonical symbol, or None when unknown to this instance."""
        known = self._sources.get(native)
        if known is not None:
            return known.symbol
        return None if self._closed else self.native_to_canonical(native)

    def source_of(self, native: Any) -> EventSource:
        """The fields every :class:`~models.MarketEvent` of ``native`` shares (validated
        once per symbol); raise ``DecodeError`` if the symbol is unknown."""
        known = self._sources.get(native)
        if known is not None:
            return known
        canonical = None
        if type(native) is str and not self._closed:
            canonical = self.native_to_canonical(native)
        if canonical is None:
            raise DecodeError(f"unknown symbol {native!r}")
        known = self._sources[native] = self._new_source(native, canonical)
        return known

    def instrument(self, native: Any) -> tuple[str, InstrumentType]:
        """Native symbol -> (canonical symbol, type); raise ``DecodeError`` if unknown."""
        known = self.source_of(native)
        return known.symbol, known.instrument_type

    def _new_source(self, native: str, symbol: str) -> EventSource:
        kind = Instrument.parse(symbol).type
        return EventSource(self.name, symbol, native, kind, trust=self._trust)

    def check_channels(self, channels: Iterable[str]) -> list[str]:
        """The streamed channels among ``channels``; ``ConfigError`` for unknown names."""
        wanted = list(dict.fromkeys(channels))
        unknown = [c for c in wanted if c not in self.channels and c not in self.polled_channels]
        if unknown:
            raise ConfigError(f"{self.name} has no channel(s) {', '.join(unknown)}")
        return [c for c in wanted if c in self.channels]

    def parse(self, raw: str | bytes, received_at: datetime) -> list[Record]:
        """One raw WebSocket frame -> normalized records; bad input -> one dead letter."""
        if len(raw) < 16 and self.control_texts:
            text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
            if text.strip() in self.control_texts:
                return []
        try:  # _guarded(raw, received_at, self._dispatch), one call less on the hot path
            records = self._dispatch(orjson.loads(raw), received_at)
        except Exception as exc:  # a malformed message must not stop ingest
            return [self._rejected(raw, exc, received_at)]
        if self.max_clock_skew is None:
            return records
        return self._within_skew(raw, records, received_at, self.max_clock_skew)

    def parse_rest(self, path: str, raw: str | bytes, received_at: datetime) -> list[Record]:
        """A REST answer from ``path`` (e.g. ``/fapi/v1/openInterest``) -> records."""
        handler = self._rest_handlers.get(path)
        if handler is None:
            return [self.dead_letter(raw, f"no parser for REST path {path!r}", received_at)]
        return self._guarded(raw, received_at, handler)

    def parse_snapshot(
        self, raw: str | bytes, received_at: datetime, symbol: str
    ) -> DepthSnapshot | DeadLetter:
        """A REST order-book snapshot of canonical ``symbol`` -> :class:`DepthSnapshot`."""
        try:
            return self._snapshot(orjson.loads(raw), received_at, self.to_native(symbol))
        except Exception as exc:  # every failure becomes a dead letter
            return self.dead_letter(raw, depth_snapshot_reason(exc), received_at, channel="book")

    def parse_trade_history(
        self, raw: str | bytes, received_at: datetime, symbol: str
    ) -> list[Record]:
        """A REST trade-history page of canonical ``symbol`` -> trades (and their
        liquidations); bad input -> one dead letter."""
        native = self.to_native(symbol)

        def handler(message: Any, at: datetime) -> list[Record]:
            return self._trade_history(message, at, native)

        return self._guarded(raw, received_at, handler, check_skew=False)

    def dead_letter(
        self, raw: str | bytes, reason: str, at: datetime, channel: str | None = None
    ) -> DeadLetter:
        return DeadLetter.of(
            raw, source=self.source, reason=reason, at=at, exchange=self.name, channel=channel
        )

    def _guarded(
        self, raw: str | bytes, received_at: datetime, handler: Handler, check_skew: bool = True
    ) -> list[Record]:
        try:
            records = handler(orjson.loads(raw), received_at)
        except Exception as exc:  # a malformed message must not stop ingest
            return [self._rejected(raw, exc, received_at)]
        skew = self.max_clock_skew if check_skew else None
        if skew is None:
            return records
        return self._within_skew(raw, records, received_at, skew)

    def _rejected(self, raw: str | bytes, exc: Exception, received_at: datetime) -> DeadLetter:
        """The dead letter of input whose parsing raised ``exc``."""
        if isinstance(exc, DecodeError):
            reason = exc.reason
        elif isinstance(exc, orjson.JSONDecodeError):
            reason = f"unparsable JSON: {exc}"
        elif isinstance(exc, ValidationError):
            reason = validation_reason(exc)
        else:
            reason = f"malformed message ({type(exc).__name__}: {exc})"
        return self.dead_letter(raw, reason, received_at)

    def _within_skew(
        self, raw: str | bytes, records: list[Record], received_at: datetime, skew: timedelta
    ) -> list[Record]:
        """``records``, or one dead letter when an event time is ``skew`` or more away."""
        for record in records:
            if isinstance(record, MarketEvent) and abs(record.timestamp - received_at) > skew:
                reason = (
                    f"event time {record.timestamp.isoformat()} is more than {skew} "
                    f"from receive time {received_at.isoformat()}"
                )
                return [self.dead_letter(raw, reason, received_at)]
        return records
