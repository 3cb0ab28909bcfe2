"""Binance spot: combined (``/stream``) and raw (``/ws``) streams, and ``/api/v3``.

Streams are ``<symbol>@<feed>[@<speed>]``; any speed of a feed (``depth``,
``depth@100ms``) is the same subscription here, and every book change is
sent. The connection is closed when a client sends more than 5 messages a
second; more than 1024 streams on one connection are refused.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, ClassVar

import orjson

from ingest.binance import Binance
from ingest.recording import RecordedMessage
from ingest.simulator.events import (
    BookUpdate,
    LevelChange,
    LiquidationPrint,
    MarketSource,
    StatsUpdate,
    SyntheticEvent,
    TradePrint,
)
from ingest.simulator.protocols.base import Connection, Frame, Hub, Subscription
from ingest.simulator.protocols.binance_rest import BinanceRest
from ingest.venue import Venue
from models import Side

#: Stream feed -> our channel name.
FEEDS: dict[str, str] = {
    "trade": "trades",
    "aggTrade": "trades",
    "bookTicker": "ticker",
    "ticker": "ticker",
    "depth": "book",
    "markPrice": "funding",
    "forceOrder": "liquidations",
}
_ENVELOPE = b'{"stream":"'


def stream_key(name: str) -> tuple[str, str, str] | None:
    """``btcusdt@depth@100ms`` -> (key ``btcusdt@depth``, native ``BTCUSDT``, feed ``depth``)."""
    symbol, sep, rest = name.partition("@")
    feed = rest.split("@", 1)[0]
    if not sep or not symbol or not feed:
        return None
    return f"{symbol.lower()}@{feed}", symbol.upper(), feed


class BinanceProtocol(BinanceRest):
    venue_class: ClassVar[type[Venue]] = Binance
    ws_path = "/stream"
    max_incoming_per_second = 5
    max_streams = 1024
    price_field = "p"

    def __init__(self, hub: Hub, market: MarketSource) -> None:
        super().__init__(hub, market)
        #: Method -> handler returning an error text, or None when it succeeded.
        self._methods: dict[str, Callable[[Connection, Any], str | None]] = {
            "SUBSCRIBE": self._on_subscribe,
            "UNSUBSCRIBE": self._on_unsubscribe,
            "LIST_SUBSCRIPTIONS": lambda connection, params: None,
            "SET_PROPERTY": self._set_property,
            "GET_PROPERTY": self._get_property,
        }

    # -- connections ------------------------------------------------------------------

    def accepts(self, path: str) -> bool:
        return path in ("/stream", "/ws") or path.startswith("/ws/")

    def on_open(self, connection: Connection) -> None:
        connection.combined = connection.path == "/stream"
        names = connection.query.get("streams", "").split("/")
        if connection.path.startswith("/ws/"):
            names = connection.path[4:].split("/")
        self._subscribe(connection, [name for name in names if name])

    def on_message(self, connection: Connection, message: str | bytes) -> None:
        limit = self.max_incoming_per_second
        if limit is not None and connection.incoming_rate() > limit:
            connection.close(1008, "Too many requests")
            return
        try:
            request = orjson.loads(message)
        except orjson.JSONDecodeError as exc:
            self._error(connection, 3, f"Invalid JSON: {exc}", None)
            return
        if type(request) is not dict:
            self._error(connection, 2, "Invalid request: expected an object", None)
            return
        ident, method, params = request.get("id"), request.get("method"), request.get("params")
        handler = self._methods.get(method) if type(method) is str else None
        if handler is None:
            self._error(connection, 2, f"Invalid request: unknown method {method!r}", ident)
            return
        error = handler(connection, params)
        if error is not None:
            self._error(connection, 2, f"Invalid request: {error}", ident)
        elif method == "LIST_SUBSCRIPTIONS":
            self._result(connection, [s.name for s in connection.subscriptions.values()], ident)
        elif method == "GET_PROPERTY":
            self._result(connection, connection.combined, ident)
        else:
            self._result(connection, None, ident)

    def _get_property(self, connection: Connection, params: Any) -> str | None:
        return None if params == ["combined"] else "the only property is 'combined'"

    def _on_subscribe(self, connection: Connection, params: Any) -> str | None:
        if type(params) is not list or any(type(p) is not str for p in params):
            return "params must be stream names"
        if not self._subscribe(connection, params):
            return f"more than {self.max_streams} streams on one connection"
        return None

    def _on_unsubscribe(self, connection: Connection, params: Any) -> str | None:
        if type(params) is not list or any(type(p) is not str for p in params):
            return "params must be stream names"
        for name in params:
            found = stream_key(name)
            if found:
                self.hub.unsubscribe(connection, found[0])
        return None

    def _set_property(self, connection: Connection, params: Any) -> str | None:
        if type(params) is not list or len(params) != 2 or params[0] != "combined":
            return "the only property is 'combined'"
        connection.combined = bool(params[1])
        return None

    def _subscribe(self, connection: Connection, names: list[str]) -> bool:
        wanted: dict[str, Subscription] = {}
        for name in names:
            found = stream_key(name)
            if found is not None:
                key, native, feed = found
                wanted[key] = Subscription(name, FEEDS.get(feed, "other"), native)
        if len(connection.subscriptions.keys() | wanted.keys()) > self.max_streams:
            return False
        for key, subscription in wanted.items():
            self.hub.subscribe(connection, key, subscription)
        return True

    def _result(self, connection: Connection, result: Any, ident: Any) -> None:
        connection.send(orjson.dumps({"result": result, "id": ident}))

    def _error(self, connection: Connection, code: int, msg: str, ident: Any) -> None:
        connection.send(orjson.dumps({"error": {"code": code, "msg": msg}, "id": ident}))

    def wrap(self, subscription: Subscription, connection: Connection, frame: Frame) -> bytes:
        if not connection.combined:
            return frame.data
        return b"".join((_ENVELOPE, subscription.name.encode(), b'","data":', frame.data, b"}"))

    def error_frame(self, connection: Connection) -> bytes:
        return orjson.dumps(
            {"error": {"code": 2, "msg": "Invalid request: overloaded"}, "id": None}
        )

    # -- rendering --------------------------------------------------------------------

    def num(self, value: Decimal) -> str:
        """Spot writes every price and size with 8 decimals."""
        return f"{value:.8f}"

    def render(self, event: SyntheticEvent) -> list[Frame]:
        native = self.native(event.symbol)
        if native is None:
            return []
        prefix = native.lower() + "@"
        out: list[Frame] = []
        for feed, payload in self._payloads(event, native, prefix):
            data = orjson.dumps(payload)
            out.append(Frame(prefix + feed, FEEDS[feed], data, event.symbol, feed == "depth"))
        return out

    def _payloads(self, event: SyntheticEvent, native: str, prefix: str) -> list[tuple[str, Any]]:
        wanted = self.hub.wanted
        out: list[tuple[str, Any]] = []
        if isinstance(event, TradePrint):
            for feed in ("trade", "aggTrade"):
                if wanted(prefix + feed):
                    out.append((feed, self.trade_message(event, native, prefix + feed)[0]))
        elif isinstance(event, BookUpdate):
            if wanted(prefix + "depth"):
                out.append(("depth", self.depth(event, native)))
            if event.top_changed and wanted(prefix + "bookTicker"):
                ticker = self.book_ticker(event, native)
                if ticker is not None:
                    out.append(("bookTicker", ticker))
        elif isinstance(event, StatsUpdate):
            if wanted(prefix + "ticker"):
                out.append(("ticker", self.day_ticker(event, native)))
            out.extend(self.stats_payloads(event, native, prefix))
        elif isinstance(event, LiquidationPrint):
            out.extend(self.liquidation_payloads(event, native, prefix))
        return out

    def stats_payloads(self, event: StatsUpdate, native: str, prefix: str) -> list[tuple[str, Any]]:
        return []

    def liquidation_payloads(
        self, event: LiquidationPrint, native: str, prefix: str
    ) -> list[tuple[str, Any]]:
        return []

    def trade_message(self, trade: TradePrint, native: str, key: str) -> tuple[Any, Any]:
        ms, price, size = trade.timestamp, self.num(trade.price), self.num(trade.quantity)
        maker_bought = trade.side is Side.SELL
        if key.endswith("@trade"):
            message = {"e": "trade", "E": ms, "s": native, "t": trade.trade_id, "p": price}
            message |= {"q": size, "T": ms, "m": maker_bought, "M": True}
        else:
            message = {"e": "aggTrade", "E": ms, "s": native, "a": trade.trade_id, "p": price}
            message |= {"q": size, "f": trade.trade_id, "l": trade.trade_id, "T": ms}
            message |= {"m": maker_bought, "M": True}
        return message, message

    def depth(self, event: BookUpdate, native: str) -> dict[str, Any]:
        return {
            "e": "depthUpdate",
            "E": event.timestamp,
            "s": native,
            "U": event.first_id,
            "u": event.last_id,
            "b": self.levels(event.bids),
            "a": self.levels(event.asks),
        }

    def levels(self, changes: tuple[LevelChange, ...]) -> list[list[str]]:
        return [[self.num(c.price), self.num(c.size)] for c in changes]

    def book_ticker(self, event: BookUpdate, native: str) -> dict[str, Any] | None:
        if event.best_bid is None or event.best_ask is None:
            return None
        (bid, bid_size), (ask, ask_size) = event.best_bid, event.best_ask
        return {
            "u": event.last_id,
            "s": native,
            "b": self.num(bid),
            "B": self.num(bid_size),
            "a": self.num(ask),
            "A": self.num(ask_size),
        }

    def day_ticker(self, event: StatsUpdate, native: str) -> dict[str, Any]:
        num, ms = self.num, event.timestamp
        change = event.last_price - event.open_24h
        volume = event.volume_24h or Decimal(1)
        message = {"e": "24hrTicker", "E": ms, "s": native, "p": num(change)}
        message["P"] = f"{change / event.open_24h * 100:.3f}"
        message["w"] = num(round(event.quote_volume_24h / volume, 8))
        message |= {"x": num(event.open_24h), "c": num(event.last_price)}
        message["Q"] = num(event.last_size)
        if event.best_bid is not None and event.best_ask is not None:
            message |= {"b": num(event.best_bid[0]), "B": num(event.best_bid[1])}
            message |= {"a": num(event.best_ask[0]), "A": num(event.best_ask[1])}
        message |= {"o": num(event.open_24h), "h": num(event.high_24h), "l": num(event.low_24h)}
        message |= {"v": num(event.volume_24h), "q": num(event.quote_volume_24h)}
        message |= {"O": ms - 86_400_000, "C": ms, "F": event.first_trade_id}
        message |= {"L": event.last_trade_id, "n": event.trade_count_24h}
        return message

    # -- replay -----------------------------------------------------------------------

    def replay(self, message: RecordedMessage) -> Frame | None:
        """A recorded combined-stream message; its ``data`` is sent under the
        name the client subscribed with."""
        text = message.text
        if not text.startswith('{"stream":"'):
            return None
        end = text.index('"', 11)
        found = stream_key(text[11:end])
        head = f'{text[: end + 1]},"data":'
        if found is None or not text.startswith(head) or not text.endswith("}"):
            return None
        key, native, feed = found
        data = text[len(head) : -1].encode()
        symbol = self.venue.native_to_canonical(native)
        return Frame(key, FEEDS.get(feed, "other"), data, symbol, feed == "depth")
