"""Deribit's REST API (``/api/v2/public/...``) and the trade items it shares with ``trades``.

Answers are JSON-RPC envelopes with Deribit's timing fields; numbers are
JSON numbers. The limit is 20 requests a second (Deribit's credit system
sustains about that for public calls); over it the answer is 429 with
error ``10028 too_many_requests``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, ClassVar

import orjson

from ingest.simulator.events import StatsUpdate, TradePrint
from ingest.simulator.history import id_range, time_range
from ingest.simulator.protocols.base import VenueProtocol
from ingest.simulator.rest import RequestError, RestAnswer, RestRequest, Route, json_answer

VERSION = "1.2.26"


def num(value: Decimal) -> float:
    """Deribit writes prices and amounts as JSON numbers."""
    return float(value)


class DeribitRest(VenueProtocol):
    rest_base: ClassVar[str] = "/api/v2"
    rest_limit = 20
    rest_window = 1.0

    def envelope(self, body: dict[str, Any]) -> dict[str, Any]:
        now = self.hub.now_ms() * 1000
        timing = {"usIn": now, "usOut": now + 15, "usDiff": 15, "testnet": False}
        return {"jsonrpc": "2.0", **body, **timing}

    def answer(self, result: Any) -> RestAnswer:
        return json_answer(self.envelope({"result": result}))

    def make_routes(self) -> dict[str, Route]:
        return {
            "/public/get_last_trades_by_instrument": Route(self._last_trades),
            "/public/get_last_trades_by_instrument_and_time": Route(self._last_trades),
            "/public/get_order_book": Route(self._order_book),
            "/public/ticker": Route(self._ticker),
            "/public/get_time": Route(lambda request: self.answer(self.hub.now_ms())),
            "/public/test": Route(lambda request: self.answer({"version": VERSION})),
        }

    def rest_error(
        self, status: int, error: RequestError | None, retry_after: int = 0
    ) -> RestAnswer:
        headers = {"Retry-After": str(retry_after)} if retry_after else {}
        if error is not None:
            data = {"reason": error.reason, "param": error.param}
            detail = {"message": "Invalid params", "data": data, "code": -32602}
        elif status in (418, 429):
            detail = {"message": "too_many_requests", "code": 10028}
        elif status == 404:
            detail = {"message": "Method not found", "code": -32601}
        else:
            detail = {"message": "internal_server_error", "code": 11094}
        return json_answer(self.envelope({"error": detail}), status, headers)

    def error_body(self, code: int, message: str, ident: Any = None) -> bytes:
        return orjson.dumps(
            self.envelope({"id": ident, "error": {"message": message, "code": code}})
        )

    # -- items ------------------------------------------------------------------------

    def trade_items(self, trades: Sequence[TradePrint], previous: TradePrint | None) -> list[Any]:
        """Deribit trade objects; ``previous`` precedes the first (for ``tick_direction``)."""
        if not trades:
            return []
        stats = self.market.stats(trades[0].symbol)
        items = []
        for trade in trades:
            items.append(self.trade_item(trade, previous, stats))
            previous = trade
        return items

    def trade_item(
        self, trade: TradePrint, previous: TradePrint | None, stats: StatsUpdate | None
    ) -> dict[str, Any]:
        native = self.native(trade.symbol) or trade.symbol
        direction = 1 if previous is None or previous.price == trade.price else 0
        if previous is not None and trade.price < previous.price:
            direction = 2
        mark = num(stats.mark_price) if stats else num(trade.price)
        index = num(stats.index_price) if stats else num(trade.price)
        item = {"trade_seq": trade.trade_id, "trade_id": str(trade.trade_id)}
        item |= {"timestamp": trade.timestamp, "tick_direction": direction}
        item |= {"price": num(trade.price), "mark_price": mark, "instrument_name": native}
        item |= {"index_price": index, "direction": trade.side.value, "amount": num(trade.quantity)}
        if trade.liquidation:
            item["liquidation"] = "T"
        return item

    def ticker(self, event: StatsUpdate, native: str) -> dict[str, Any]:
        change = (event.last_price - event.open_24h) / event.open_24h * 100
        stats = {"volume_usd": num(event.quote_volume_24h), "volume": num(event.volume_24h)}
        stats |= {"price_change": round(float(change), 4), "low": num(event.low_24h)}
        stats["high"] = num(event.high_24h)
        bid, ask = event.best_bid, event.best_ask
        item: dict[str, Any] = {"timestamp": event.timestamp, "stats": stats, "state": "open"}
        item |= {"settlement_price": num(event.open_24h)}
        item |= {"open_interest": num(event.open_interest or Decimal(0))}
        item |= {"min_price": num(event.index_price) * 0.975}
        item |= {"max_price": num(event.index_price) * 1.025}
        item |= {"mark_price": num(event.mark_price), "last_price": num(event.last_price)}
        item |= {"instrument_name": native, "index_price": num(event.index_price)}
        if event.funding_rate is not None:
            item |= {"funding_8h": num(event.funding_rate)}
            item |= {"current_funding": round(num(event.funding_rate) / 8, 10)}
        # Deribit writes 0 for an empty side.
        item |= {"best_bid_price": num(bid[0]) if bid else 0.0}
        item |= {"best_bid_amount": num(bid[1]) if bid else 0.0}
        item |= {"best_ask_price": num(ask[0]) if ask else 0.0}
        item |= {"best_ask_amount": num(ask[1]) if ask else 0.0}
        return item

    # -- handlers ---------------------------------------------------------------------

    def _instrument(self, request: RestRequest) -> tuple[str, str]:
        native = request.text("instrument_name", required=True) or ""
        symbol = self.canonical(native)
        if symbol is None:
            raise RequestError("instrument not found", param="instrument_name")
        return native, symbol

    def _last_trades(self, request: RestRequest) -> RestAnswer:
        """By ``start_seq``/``end_seq`` and ``start_timestamp``/``end_timestamp``
        (inclusive); ``count`` (10, max 1000); ``sorting`` asc, desc or default (desc)."""
        native, symbol = self._instrument(request)
        count = request.integer("count", 10) or 10
        if not 1 <= count <= 1000:
            raise RequestError("must be 1..1000", param="count")
        sorting = request.text("sorting") or "default"
        if sorting not in ("asc", "desc", "default"):
            raise RequestError("must be asc, desc or default", param="sorting")
        trades = self.market.trades(symbol)
        found = id_range(trades, request.integer("start_seq"), request.integer("end_seq"))
        found = time_range(
            found, request.integer("start_timestamp"), request.integer("end_timestamp")
        )
        chosen = found[:count] if sorting == "asc" else found[-count:]
        first = chosen[0].trade_id - trades[0].trade_id if chosen else 0
        previous = trades[first - 1] if first > 0 else None
        items = self.trade_items(chosen, previous)
        if sorting != "asc":
            items.reverse()
        return self.answer({"trades": items, "has_more": len(found) > count})

    def _order_book(self, request: RestRequest) -> RestAnswer:
        native, symbol = self._instrument(request)
        depth = min(max(request.integer("depth", 20) or 20, 1), 10_000)
        book, stats = self.market.book(symbol), self.market.stats(symbol)
        if book is None or stats is None:
            raise RequestError("instrument not found", param="instrument_name")
        bids, asks = book.top(depth)
        result = self.ticker(stats, native) | {"change_id": book.last_id}
        result["bids"] = [[num(p), num(q)] for p, q in bids]
        result["asks"] = [[num(p), num(q)] for p, q in asks]
        return self.answer(result)

    def _ticker(self, request: RestRequest) -> RestAnswer:
        native, symbol = self._instrument(request)
        stats = self.market.stats(symbol)
        if stats is None:
            raise RequestError("instrument not found", param="instrument_name")
        return self.answer(self.ticker(stats, native))
