"""Deribit v2 JSON-RPC over WebSocket (``/ws/api/v2``).

``public/subscribe`` to ``trades|ticker|book.<instrument>.<interval>``
answers with the channels accepted; ``book`` starts with a ``snapshot``
notification, then ``change`` notifications chained by ``prev_change_id``.
After ``public/set_heartbeat`` a ``test_request`` heartbeat is sent every
interval; a connection that has not called ``public/test`` by the next
one is closed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import orjson

from ingest.deribit import Deribit
from ingest.recording import RecordedMessage
from ingest.simulator.events import (
    BookUpdate,
    LevelChange,
    MarketSource,
    StatsUpdate,
    SyntheticEvent,
    TradePrint,
)
from ingest.simulator.protocols.base import Connection, Frame, Hub, Subscription
from ingest.simulator.protocols.deribit_rest import VERSION, DeribitRest, num
from ingest.simulator.rest import RequestError
from ingest.venue import Venue

#: Deribit channel kind -> our channel name.
KINDS: dict[str, str] = {"trades": "trades", "ticker": "ticker", "book": "book"}
INTERVALS = frozenset({"100ms", "agg2", "raw"})
_PREFIX = b'{"jsonrpc":"2.0","method":"subscription","params":{"channel":"'
_HEARTBEAT = orjson.dumps(
    {"jsonrpc": "2.0", "method": "heartbeat", "params": {"type": "test_request"}}
)

Method = Callable[[Connection, Any], Any]


class DeribitProtocol(DeribitRest):
    venue_class: ClassVar[type[Venue]] = Deribit
    ws_path = "/ws/api/v2"
    price_field = "price"
    numbers_as_text = False

    def __init__(self, hub: Hub, market: MarketSource) -> None:
        super().__init__(hub, market)
        self._methods: dict[str, Method] = {
            "public/subscribe": self._subscribe,
            "public/unsubscribe": self._unsubscribe,
            "public/unsubscribe_all": self._unsubscribe_all,
            "public/set_heartbeat": self._set_heartbeat,
            "public/disable_heartbeat": self._disable_heartbeat,
            "public/test": self._test,
            "public/hello": lambda connection, params: {"version": VERSION},
            "public/get_time": lambda connection, params: self.hub.now_ms(),
        }

    # -- requests ---------------------------------------------------------------------

    def on_message(self, connection: Connection, message: str | bytes) -> None:
        try:
            request = orjson.loads(message)
        except orjson.JSONDecodeError:
            connection.send(self.error_body(-32700, "Parse error"))
            return
        if type(request) is not dict:
            connection.send(self.error_body(-32600, "Invalid Request"))
            return
        ident = request.get("id")
        method = self._methods.get(request.get("method"))  # type: ignore[arg-type]
        if method is None:
            connection.send(self.error_body(-32601, "Method not found", ident))
            return
        params = request.get("params") or {}
        try:
            result = method(connection, params if type(params) is dict else {})
        except RequestError as exc:
            connection.send(self.error_body(-32602, f"Invalid params: {exc.reason}", ident))
            return
        connection.send(orjson.dumps(self.envelope({"id": ident, "result": result})))
        if method == self._subscribe:
            for name in result:
                self._send_snapshot(connection, name)

    def _subscribe(self, connection: Connection, params: Any) -> list[str]:
        accepted = []
        for name in _names(params):
            parts = name.split(".")
            if len(parts) != 3 or parts[0] not in KINDS or parts[2] not in INTERVALS:
                continue
            if not self.listed(parts[1]):
                continue
            key = f"{parts[0]}.{parts[1]}"
            self.hub.subscribe(connection, key, Subscription(name, KINDS[parts[0]], parts[1]))
            accepted.append(name)
        return accepted

    def _unsubscribe(self, connection: Connection, params: Any) -> list[str]:
        removed = []
        for name in _names(params):
            if self.hub.unsubscribe(connection, ".".join(name.split(".")[:2])):
                removed.append(name)
        return removed

    def _unsubscribe_all(self, connection: Connection, params: Any) -> str:
        for key in list(connection.subscriptions):
            self.hub.unsubscribe(connection, key)
        return "ok"

    def _set_heartbeat(self, connection: Connection, params: Any) -> str:
        interval = params.get("interval")
        if type(interval) not in (int, float) or interval <= 0:
            raise RequestError("interval must be a positive number", param="interval")
        connection.heartbeat_interval = float(interval)
        connection.heartbeat_pending = False
        connection.set_timer(float(interval))
        return "ok"

    def _disable_heartbeat(self, connection: Connection, params: Any) -> str:
        connection.heartbeat_interval = None
        connection.set_timer(None)
        return "ok"

    def _test(self, connection: Connection, params: Any) -> dict[str, str]:
        connection.heartbeat_pending = False
        return {"version": VERSION}

    def on_timer(self, connection: Connection) -> None:
        interval = connection.heartbeat_interval
        if interval is None:
            return
        if connection.heartbeat_pending:
            connection.close(1000, "heartbeat test_request not answered")
            return
        connection.send(_HEARTBEAT)
        connection.heartbeat_pending = True
        connection.set_timer(interval)

    def error_frame(self, connection: Connection) -> bytes:
        return self.error_body(10028, "too_many_requests")

    # -- rendering --------------------------------------------------------------------

    def wrap(self, subscription: Subscription, connection: Connection, frame: Frame) -> bytes:
        return b"".join((_PREFIX, subscription.name.encode(), b'","data":', frame.data, b"}}"))

    def render(self, event: SyntheticEvent) -> list[Frame]:
        native = self.native(event.symbol)
        if native is None:
            return []
        if isinstance(event, TradePrint) and self.hub.wanted(f"trades.{native}"):
            data = orjson.dumps(self.trade_message(event, native, "")[0])
            return [Frame(f"trades.{native}", "trades", data, event.symbol)]
        if isinstance(event, BookUpdate) and self.hub.wanted(f"book.{native}"):
            data = orjson.dumps(self._change(event, native))
            return [Frame(f"book.{native}", "book", data, event.symbol, True)]
        if isinstance(event, StatsUpdate) and self.hub.wanted(f"ticker.{native}"):
            data = orjson.dumps(self.ticker(event, native))
            return [Frame(f"ticker.{native}", "ticker", data, event.symbol)]
        return []

    def trade_message(self, trade: TradePrint, native: str, key: str) -> tuple[Any, Any]:
        published = self.market.trades(trade.symbol)
        previous = published[-2] if len(published) > 1 else None
        item = self.trade_item(trade, previous, self.market.stats(trade.symbol))
        return [item], item

    def _change(self, event: BookUpdate, native: str) -> dict[str, Any]:
        message = {"type": "change", "timestamp": event.timestamp}
        message |= {"prev_change_id": event.prev_id, "instrument_name": native}
        message |= {"change_id": event.last_id, "bids": _changes(event.bids)}
        return message | {"asks": _changes(event.asks)}

    def _send_snapshot(self, connection: Connection, name: str) -> None:
        kind, _, rest = name.partition(".")
        native = rest.rpartition(".")[0]
        symbol = self.canonical(native)
        book = self.market.book(symbol) if kind == "book" and symbol else None
        if book is None:
            return
        bids, asks = book.top(10_000)
        data = {"type": "snapshot", "timestamp": self.hub.now_ms(), "instrument_name": native}
        data |= {"change_id": book.last_id}
        data |= {"bids": [["new", num(p), num(q)] for p, q in bids]}
        data |= {"asks": [["new", num(p), num(q)] for p, q in asks]}
        frame = Frame(f"book.{native}", "book", orjson.dumps(data), symbol)
        subscription = connection.subscriptions[frame.key]
        connection.send(self.wrap(subscription, connection, frame), "book")

    # -- replay -----------------------------------------------------------------------

    def replay(self, message: RecordedMessage) -> Frame | None:
        decoded = orjson.loads(message.text)
        if type(decoded) is not dict or decoded.get("method") != "subscription":
            return None
        params = decoded["params"]
        kind, _, rest = params["channel"].partition(".")
        native = rest.rpartition(".")[0] or rest
        data = params["data"]
        delta = kind == "book" and type(data) is dict and data.get("type") == "change"
        symbol = self.venue.native_to_canonical(native)
        channel = KINDS.get(kind, "other")
        return Frame(f"{kind}.{native}", channel, orjson.dumps(data), symbol, delta)


def _names(params: Any) -> list[str]:
    channels = params.get("channels") if type(params) is dict else None
    if type(channels) is not list:
        raise RequestError("channels must be a list", param="channels")
    return [name for name in channels if type(name) is str]


def _changes(changes: tuple[LevelChange, ...]) -> list[list[Any]]:
    return [[c.action, num(c.price), num(c.size)] for c in changes]
