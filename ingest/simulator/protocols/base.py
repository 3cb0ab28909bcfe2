"""The server side of one venue's public API, as a declarative class per venue.

A protocol answers a connection's control messages (subscriptions,
heartbeats), renders market events into the venue's messages once for
all subscribers (:meth:`VenueProtocol.render`), classifies recorded
messages for replay, and serves the venue's REST routes. It never touches
sockets: it talks to a :class:`Connection` and to the :class:`Hub` (the
server's subscription index), so the server never branches on the venue.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Literal, Protocol

import orjson

from ingest.recording import RecordedMessage
from ingest.simulator.events import MarketSource, SyntheticEvent, TradePrint
from ingest.simulator.rest import RequestError, RestAnswer, Route
from ingest.venue import Venue
from models import Side
from models.exceptions import ConfigError

BadTrade = Literal["missing_field", "non_positive_price"]


@dataclass(frozen=True, slots=True)
class Frame:
    """One rendered message, for every connection subscribed to ``key``."""

    key: str
    #: Our channel name (``trades``, ``ticker``, ``book``, ...), for statistics.
    channel: str
    data: bytes
    #: Canonical symbol, for faults aimed at one symbol.
    symbol: str | None = None
    #: A book update that chains onto the previous one (not a snapshot).
    delta: bool = False


@dataclass(frozen=True, slots=True)
class Subscription:
    #: The name the client used (echoed in Binance's and Deribit's envelopes).
    name: str
    channel: str
    native: str | None


class Connection(Protocol):
    """What a protocol may do with one client connection."""

    @property
    def conn_id(self) -> str: ...

    @property
    def path(self) -> str: ...

    @property
    def query(self) -> dict[str, str]: ...

    @property
    def subscriptions(self) -> dict[str, Subscription]: ...

    #: Binance: wrap events in the combined-stream envelope.
    combined: bool
    #: Deribit: seconds between ``test_request`` heartbeats (None: off), and
    #: whether the last one is still unanswered.
    heartbeat_interval: float | None
    heartbeat_pending: bool

    def send(self, data: bytes | str, channel: str | None = None) -> None: ...

    def close(self, code: int, reason: str) -> None:
        """Close after what is queued has been sent."""

    def incoming_rate(self) -> int:
        """Messages received in the current second, this one included."""

    def set_timer(self, delay: float | None) -> None:
        """Call :meth:`VenueProtocol.on_timer` after ``delay`` seconds (None: never)."""


class Hub(Protocol):
    """The server's subscription index."""

    def subscribe(self, connection: Connection, key: str, subscription: Subscription) -> None: ...

    def unsubscribe(self, connection: Connection, key: str) -> bool: ...

    def wanted(self, key: str) -> bool:
        """Some connection is subscribed to ``key``."""

    def now_ms(self) -> int: ...


class VenueProtocol(ABC):
    venue_class: ClassVar[type[Venue]]
    #: The WebSocket path advertised in ``ws_url``.
    ws_path: ClassVar[str]
    #: Prefix of every REST path (Deribit: ``/api/v2``).
    rest_base: ClassVar[str] = ""
    #: The venue closes connections that send nothing for ``idle_timeout`` (OKX).
    closes_idle: ClassVar[bool] = False
    #: Incoming messages a second before the venue closes the connection.
    max_incoming_per_second: ClassVar[int | None] = None
    #: REST limit: ``rest_limit`` weight per ``rest_window`` seconds; ``bans``: 418s.
    rest_limit: ClassVar[int]
    rest_window: ClassVar[float]
    bans: ClassVar[bool] = False

    def __init__(self, hub: Hub, market: MarketSource) -> None:
        self.hub = hub
        self.market = market
        self.venue = self.venue_class(max_clock_skew=None)
        self._natives: dict[str, str] = {}
        self._symbols: dict[str, str] = {}
        for symbol in market.symbols:
            try:
                native = self.venue.to_native(symbol)
            except ValueError:
                continue  # e.g. a spot symbol on a derivatives venue
            self._natives[symbol], self._symbols[native] = native, symbol
        self.routes: dict[str, Route] = self.make_routes()

    @property
    def name(self) -> str:
        return self.venue_class.name

    def check_source(self) -> None:
        only = self.market.venue()
        if only is not None and only != self.name:
            raise ConfigError(f"a {only} recording cannot feed the {self.name} simulator")

    # -- symbols ----------------------------------------------------------------------

    def native(self, symbol: str) -> str | None:
        """The native name of a market symbol this venue lists, else None."""
        return self._natives.get(symbol)

    def canonical(self, native: str) -> str | None:
        return self._symbols.get(native)

    def listed(self, native: str) -> bool:
        """The venue knows ``native`` (a replay accepts every name)."""
        return native in self._symbols or not self.market.symbols

    # -- WebSocket --------------------------------------------------------------------

    def accepts(self, path: str) -> bool:
        return path == self.ws_path

    def on_open(self, connection: Connection) -> None:
        """A client connected (e.g. subscribe to the streams named in its URL)."""
        return None

    @abstractmethod
    def on_message(self, connection: Connection, message: str | bytes) -> None:
        """A client message: answer it, subscribe, or close the connection."""

    def on_timer(self, connection: Connection) -> None:
        """The timer set with :meth:`Connection.set_timer` expired."""
        return None

    @abstractmethod
    def render(self, event: SyntheticEvent) -> list[Frame]:
        """A synthetic event -> the messages of every subscribed key (only wanted keys)."""

    @abstractmethod
    def replay(self, message: RecordedMessage) -> Frame | None:
        """A recorded received message -> the frame to replay, None to skip it."""

    def wrap(self, subscription: Subscription, connection: Connection, frame: Frame) -> bytes:
        """The bytes one connection receives (venues with envelopes override this)."""
        return frame.data

    # -- REST -------------------------------------------------------------------------

    @abstractmethod
    def make_routes(self) -> dict[str, Route]:
        """REST path (below ``rest_base``) -> route."""

    @abstractmethod
    def rest_error(
        self, status: int, error: RequestError | None, retry_after: int = 0
    ) -> RestAnswer:
        """The venue's error answer: a bad request (400, 404, with ``error``), a rate
        limit (429, 418) or a server failure (5xx)."""

    def rate_headers(self, used: int) -> dict[str, str]:
        """Headers reporting the weight used (Binance ``X-MBX-USED-WEIGHT-1M``)."""
        return {}

    # -- faults -----------------------------------------------------------------------

    @abstractmethod
    def error_frame(self, connection: Connection) -> bytes:
        """One venue error message, as a flood fault sends it."""

    @abstractmethod
    def trade_message(self, trade: TradePrint, native: str, key: str) -> tuple[Any, Any]:
        """(the message, the object holding its price) for a trade on ``key``."""

    #: The price field of a trade item, and how its wire value is written.
    price_field: ClassVar[str]
    numbers_as_text: ClassVar[bool] = True

    def corrupt_checksum(self, frame: Frame) -> Frame:
        raise ConfigError(f"{self.name} sends no book checksums")

    def bad_trade(self, connection: Connection, problem: BadTrade) -> bytes | None:
        """A trade message with its price missing or not positive, for the first
        trades subscription of ``connection`` (None if it has none)."""
        for key, subscription in connection.subscriptions.items():
            if subscription.channel != "trades" or subscription.native is None:
                continue
            native = subscription.native
            symbol = self.canonical(native)
            published = self.market.trades(symbol) if symbol else ()
            trade = published[-1] if published else _made_up_trade(native, self.hub.now_ms())
            message, item = self.trade_message(trade, native, key)
            if problem == "missing_field":
                del item[self.price_field]
            else:
                item[self.price_field] = "0" if self.numbers_as_text else 0.0
            frame = Frame(key, "trades", orjson.dumps(message), symbol)
            return self.wrap(subscription, connection, frame)
        return None


def _made_up_trade(native: str, now: int) -> TradePrint:
    return TradePrint(native, 1, Decimal("1"), Decimal("1"), Side.BUY, now)


def text(value: Decimal) -> str:
    """A Decimal in positional notation, as the venues write numbers."""
    return format(value, "f")
