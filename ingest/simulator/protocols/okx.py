"""OKX v5 public WebSocket (``/ws/v5/public``) and the REST market data it pairs with.

Every subscribe argument is acknowledged on its own; an unknown channel or
instrument gets OKX's ``60018`` error. ``books`` starts with a 400-level
``snapshot`` (``prevSeqId`` -1), then ``update`` pushes whose ``prevSeqId``
is the previous ``seqId``, each with the CRC32 checksum of the top 25
levels (computed by :func:`ingest.sequence_rules.okx_checksum`). Text
``ping`` is answered ``pong``; a connection silent for 30 s is closed.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, ClassVar

import orjson

from ingest.okx import INST_TYPES, Okx
from ingest.recording import RecordedMessage
from ingest.sequence_rules import okx_checksum
from ingest.simulator.events import (
    BookUpdate,
    LevelChange,
    LiquidationPrint,
    SyntheticEvent,
    TradePrint,
)
from ingest.simulator.protocols.base import Connection, Frame, Subscription, text
from ingest.simulator.protocols.okx_rest import OkxRest
from ingest.venue import Venue
from models import Instrument, InstrumentType, Side
from models.book import BookLevel

#: OKX channel -> our channel name.
CHANNELS: dict[str, str] = {
    "trades": "trades",
    "books": "book",
    "tickers": "ticker",
    "funding-rate": "funding",
    "open-interest": "open_interest",
    "liquidation-orders": "liquidations",
}
SNAPSHOT_DEPTH = 400
CHECKSUM_DEPTH = 25
_INST_TYPES = frozenset({"SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION"})


class OkxProtocol(OkxRest):
    venue_class: ClassVar[type[Venue]] = Okx
    ws_path = "/ws/v5/public"
    closes_idle = True
    price_field = "px"

    def on_message(self, connection: Connection, message: str | bytes) -> None:
        if message in ("ping", b"ping"):
            connection.send("pong")
            return
        try:
            request = orjson.loads(message)
        except orjson.JSONDecodeError:
            request = None
        args = request.get("args") if type(request) is dict else None
        op = request.get("op") if type(request) is dict else None
        if op not in ("subscribe", "unsubscribe") or type(args) is not list:
            shown = message if isinstance(message, str) else message.decode("utf-8", "replace")
            self._error(connection, "60012", f"Invalid request: {shown[:200]}")
            return
        for arg in args:
            self._subscription(connection, op == "subscribe", arg)

    def _subscription(self, connection: Connection, subscribe: bool, arg: Any) -> None:
        arg = arg if type(arg) is dict else {}
        channel, inst_id, inst_type = arg.get("channel"), arg.get("instId"), arg.get("instType")
        if channel == "liquidation-orders":
            valid, key = inst_type in _INST_TYPES, f"{channel}:{inst_type}"
        else:
            valid = type(inst_id) is str and self.listed(inst_id) and _fits(channel, inst_id)
            key = f"{channel}:{inst_id}"
        if not valid:
            msg = f"Wrong URL or channel:{channel},instId:{inst_id} doesn't exist."
            self._error(connection, "60018", msg)
            return
        echo = {k: arg[k] for k in ("channel", "instId", "instType") if k in arg}
        native = inst_id if type(inst_id) is str else None
        if subscribe:
            self.hub.subscribe(connection, key, Subscription(key, CHANNELS[channel], native))
        else:
            self.hub.unsubscribe(connection, key)
        event = "subscribe" if subscribe else "unsubscribe"
        connection.send(orjson.dumps({"event": event, "arg": echo, "connId": connection.conn_id}))
        if subscribe and channel == "books" and native is not None:
            snapshot = self._snapshot(native)
            if snapshot is not None:
                connection.send(snapshot, "book")

    def _error(self, connection: Connection, code: str, msg: str) -> None:
        message = {"event": "error", "code": code, "msg": msg, "connId": connection.conn_id}
        connection.send(orjson.dumps(message))

    def error_frame(self, connection: Connection) -> bytes:
        message = {"event": "error", "code": "60012", "msg": "Invalid request"}
        return orjson.dumps(message | {"connId": connection.conn_id})

    # -- rendering --------------------------------------------------------------------

    def render(self, event: SyntheticEvent) -> list[Frame]:
        native = self.native(event.symbol)
        if native is None:
            return []
        frames = []
        for channel, target, build in self._pushes(event, native):
            key = f"{channel}:{target}"
            if self.hub.wanted(key):
                data = orjson.dumps(build())
                frames.append(Frame(key, CHANNELS[channel], data, event.symbol, channel == "books"))
        return frames

    def _pushes(
        self, event: SyntheticEvent, native: str
    ) -> list[tuple[str, str, Callable[[], Any]]]:
        """(channel, instId or instType, message builder) of every push ``event`` makes."""
        if isinstance(event, TradePrint):
            return [("trades", native, lambda: self.trade_message(event, native, "")[0])]
        if isinstance(event, BookUpdate):
            return [("books", native, lambda: self._update(event, native))]
        if isinstance(event, LiquidationPrint):
            kind = INST_TYPES[Instrument.parse(event.symbol).type]
            return [("liquidation-orders", kind, lambda: self._liquidation(event, native, kind))]
        pushes = [self._lazy("tickers", native, lambda: self.ticker(event, native))]
        if event.funding_rate is not None:
            pushes.append(self._lazy("funding-rate", native, lambda: self.funding(event, native)))
        if event.open_interest is not None:
            pushes.append(
                self._lazy("open-interest", native, lambda: self.open_interest(event, native))
            )
        return pushes

    def _lazy(
        self, channel: str, native: str, item: Callable[[], Any]
    ) -> tuple[str, str, Callable[[], Any]]:
        return channel, native, lambda: self._push(channel, native, item())

    def _push(self, channel: str, native: str, item: Any) -> dict[str, Any]:
        return {"arg": {"channel": channel, "instId": native}, "data": [item]}

    def trade_message(self, trade: TradePrint, native: str, key: str) -> tuple[Any, Any]:
        item = {"instId": native, "tradeId": str(trade.trade_id), "px": text(trade.price)}
        item |= {"sz": text(trade.quantity), "side": trade.side.value}
        item |= {"ts": str(trade.timestamp), "count": "1"}
        return self._push("trades", native, item), item

    def _update(self, event: BookUpdate, native: str) -> dict[str, Any]:
        book = self.market.book(event.symbol)
        bids, asks = book.top(CHECKSUM_DEPTH) if book is not None else ([], [])
        item: dict[str, Any] = {"asks": _changes(event.asks), "bids": _changes(event.bids)}
        item |= {"ts": str(event.timestamp), "checksum": okx_checksum(bids, asks)}
        item |= {"prevSeqId": event.prev_id, "seqId": event.last_id}
        return {"arg": {"channel": "books", "instId": native}, "action": "update", "data": [item]}

    def _snapshot(self, native: str) -> bytes | None:
        symbol = self.canonical(native)
        book = self.market.book(symbol) if symbol else None
        if book is None:
            return None
        bids, asks = book.top(SNAPSHOT_DEPTH)
        checksum = okx_checksum(bids[:CHECKSUM_DEPTH], asks[:CHECKSUM_DEPTH])
        item: dict[str, Any] = {"asks": _levels(asks), "bids": _levels(bids)}
        item["ts"] = str(self.hub.now_ms())
        item |= {"checksum": checksum, "prevSeqId": -1, "seqId": book.last_id}
        message = {"arg": {"channel": "books", "instId": native}, "action": "snapshot"}
        return orjson.dumps(message | {"data": [item]})

    def _liquidation(self, event: LiquidationPrint, native: str, kind: str) -> dict[str, Any]:
        family = "-".join(native.split("-")[:2])
        detail = {"bkLoss": "0", "bkPx": text(event.price), "ccy": ""}
        detail |= {"posSide": "long" if event.side is Side.SELL else "short"}
        detail |= {"side": event.side.value, "sz": text(event.quantity), "ts": str(event.timestamp)}
        item = {"details": [detail], "instFamily": family, "instId": native}
        item |= {"instType": kind, "uly": family}
        return {"arg": {"channel": "liquidation-orders", "instType": kind}, "data": [item]}

    def corrupt_checksum(self, frame: Frame) -> Frame:
        message = orjson.loads(frame.data)
        item = message["data"][0]
        checksum = int(item.get("checksum") or 0)
        item["checksum"] = checksum + 1 if checksum < 2**31 - 1 else checksum - 1
        return Frame(frame.key, frame.channel, orjson.dumps(message), frame.symbol, frame.delta)

    # -- replay -----------------------------------------------------------------------

    def replay(self, message: RecordedMessage) -> Frame | None:
        decoded = orjson.loads(message.text)
        if type(decoded) is not dict or "data" not in decoded or "arg" not in decoded:
            return None
        arg = decoded["arg"]
        channel = arg.get("channel")
        target = arg.get("instId") or arg.get("instType")
        symbol = self.venue.native_to_canonical(arg["instId"]) if "instId" in arg else None
        delta = channel == "books" and decoded.get("action") == "update"
        data = message.text.encode()
        return Frame(f"{channel}:{target}", CHANNELS.get(channel, "other"), data, symbol, delta)


def _fits(channel: Any, inst_id: str) -> bool:
    """OKX has the channel for the instrument: funding for swaps, open interest for
    derivatives, the rest for all."""
    canonical = Okx().native_to_canonical(inst_id)
    if channel not in CHANNELS or canonical is None:
        return False
    kind = Instrument.parse(canonical).type
    if channel == "funding-rate":
        return kind is InstrumentType.PERPETUAL
    return channel != "open-interest" or kind is not InstrumentType.SPOT


def _levels(levels: list[BookLevel]) -> list[list[str]]:
    return [[text(price), text(size), "0", _orders(size)] for price, size in levels]


def _changes(changes: tuple[LevelChange, ...]) -> list[list[str]]:
    return [[text(c.price), text(c.size), "0", _orders(c.size)] for c in changes]


def _orders(size: Decimal) -> str:
    """A plausible order count for a level (0 for a removed one)."""
    return str(1 + hash(size) % 9) if size else "0"
