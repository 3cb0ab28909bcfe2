"""Binance's REST market data (``/api/v3``; USD-M overrides the paths and weights).

Weights per request as documented (depth by ``limit``), counted per
minute; the ``X-MBX-USED-WEIGHT-1M`` header reports the total.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, ClassVar

from ingest.simulator.events import TradePrint
from ingest.simulator.history import id_range, time_range
from ingest.simulator.instruments import InstrumentSpec
from ingest.simulator.protocols.base import VenueProtocol
from ingest.simulator.rest import RequestError, RestAnswer, RestRequest, Route, json_answer
from models import Side

_HOUR_MS = 3_600_000
_MESSAGES = {
    429: "Too many requests; current limit of IP(127.0.0.1) is {limit} requests per minute. "
    "Please use the websocket for live updates to avoid polling the API.",
    418: "Way too many requests; IP(127.0.0.1) banned until {until}. "
    "Please use the websocket for live updates to avoid bans.",
    404: "Not found.",
}


class BinanceRest(VenueProtocol):
    api: ClassVar[str] = "/api/v3"
    rest_limit = 6000
    rest_window = 60.0
    bans = True
    #: (highest limit, weight) of the depth endpoint, and its default limit.
    depth_weights: ClassVar[tuple[tuple[int, int], ...]] = (
        (100, 5),
        (500, 25),
        (1000, 50),
        (5000, 250),
    )
    depth_default = 100
    agg_trades_weight: ClassVar[int] = 4
    recent_trades_weight: ClassVar[int] = 25
    exchange_info_weight: ClassVar[int] = 20
    #: Spot's aggregate trades carry ``M`` (best price match); USD-M's do not.
    best_match_field: ClassVar[bool] = True

    def num(self, value: Decimal) -> str:
        return format(value, "f")

    def make_routes(self) -> dict[str, Route]:
        api = self.api
        return {
            f"{api}/ping": Route(lambda request: json_answer({})),
            f"{api}/time": Route(lambda request: json_answer({"serverTime": self.hub.now_ms()})),
            f"{api}/exchangeInfo": Route(self._exchange_info, self.exchange_info_weight),
            f"{api}/depth": Route(self._depth, self._depth_weight),
            f"{api}/aggTrades": Route(self._agg_trades, self.agg_trades_weight),
            f"{api}/trades": Route(self._recent_trades, self.recent_trades_weight),
        }

    def rate_headers(self, used: int) -> dict[str, str]:
        return {"X-MBX-USED-WEIGHT-1M": str(used), "X-MBX-USED-WEIGHT": str(used)}

    def rest_error(
        self, status: int, error: RequestError | None, retry_after: int = 0
    ) -> RestAnswer:
        headers = {"Retry-After": str(retry_after)} if retry_after else {}
        if error is not None:
            code = error.code if error.code is not None else -1102 if error.missing else -1100
            return json_answer({"code": code, "msg": error.reason}, status, headers)
        until = self.hub.now_ms() + retry_after * 1000
        msg = _MESSAGES.get(status, "Internal error; unable to process your request.")
        code = -1003 if status in (418, 429) else -1001 if status >= 500 else -1000
        body = {"code": code, "msg": msg.format(limit=self.rest_limit, until=until)}
        return json_answer(body, status, headers)

    # -- handlers ---------------------------------------------------------------------

    def _symbol(self, request: RestRequest) -> tuple[str, str | None]:
        native = request.text("symbol", required=True) or ""
        symbol = self.canonical(native)
        if symbol is None and self.market.recorded_snapshot(native) is None:
            raise RequestError("Invalid symbol.", param="symbol", code=-1121)
        return native, symbol

    def _depth_weight(self, request: RestRequest) -> int:
        limit = request.integer("limit", self.depth_default) or self.depth_default
        for highest, weight in self.depth_weights:
            if limit <= highest:
                return weight
        return self.depth_weights[-1][1]

    def depth_times(self) -> dict[str, Any]:
        """USD-M adds the message and transaction times."""
        return {}

    def _depth(self, request: RestRequest) -> RestAnswer:
        native, symbol = self._symbol(request)
        limit = request.integer("limit", self.depth_default) or self.depth_default
        if not 1 <= limit <= 5000:
            raise RequestError("Illegal characters found in parameter 'limit'", code=-1100)
        book = self.market.book(symbol) if symbol else None
        if book is None:
            recorded = self.market.recorded_snapshot(native) or ""
            return RestAnswer(200, recorded.encode())
        bids, asks = book.top(min(limit, self.depth_weights[-1][0]))
        payload: dict[str, Any] = {"lastUpdateId": book.last_id, **self.depth_times()}
        payload["bids"] = [[self.num(p), self.num(q)] for p, q in bids]
        payload["asks"] = [[self.num(p), self.num(q)] for p, q in asks]
        return json_answer(payload)

    def _trades_of(self, request: RestRequest) -> Sequence[TradePrint]:
        native, symbol = self._symbol(request)
        return self.market.trades(symbol) if symbol else ()

    def _limit(self, request: RestRequest) -> int:
        limit = request.integer("limit", 500) or 500
        if not 1 <= limit <= 1000:
            raise RequestError("Data sent for parameter 'limit' is not valid.", code=-1130)
        return limit

    def _agg_trades(self, request: RestRequest) -> RestAnswer:
        """``fromId`` (ascending from that id), or ``startTime``/``endTime`` (at most
        an hour apart), or neither (the most recent); at most ``limit`` (500, max 1000)."""
        trades, limit = self._trades_of(request), self._limit(request)
        from_id = request.integer("fromId")
        start, end = request.integer("startTime"), request.integer("endTime")
        if start is not None and end is not None and not 0 <= end - start <= _HOUR_MS:
            raise RequestError("More than 1 hours between startTime and endTime.", code=-1127)
        if from_id is not None:
            selected = time_range(id_range(trades, from_id, None)[:limit], start, end)
        elif start is not None or end is not None:
            selected = time_range(trades, start, end)[:limit]
        else:
            selected = trades[-limit:]
        return json_answer([self._agg_trade(trade) for trade in selected])

    def _agg_trade(self, trade: TradePrint) -> dict[str, Any]:
        item: dict[str, Any] = {"a": trade.trade_id, "p": self.num(trade.price)}
        item |= {"q": self.num(trade.quantity), "f": trade.trade_id, "l": trade.trade_id}
        item |= {"T": trade.timestamp, "m": trade.side is Side.SELL}
        if self.best_match_field:
            item["M"] = True
        return item

    def _recent_trades(self, request: RestRequest) -> RestAnswer:
        trades, limit = self._trades_of(request), self._limit(request)
        return json_answer(
            [
                {
                    "id": trade.trade_id,
                    "price": self.num(trade.price),
                    "qty": self.num(trade.quantity),
                    "quoteQty": self.num(trade.price * trade.quantity),
                    "time": trade.timestamp,
                    "isBuyerMaker": trade.side is Side.SELL,
                    "isBestMatch": True,
                }
                for trade in trades[-limit:]
            ]
        )

    def _exchange_info(self, request: RestRequest) -> RestAnswer:
        symbols = []
        for symbol, native in self._natives.items():
            spec = InstrumentSpec.for_symbol(symbol)
            item: dict[str, Any] = {"symbol": native, "status": "TRADING"}
            item |= {"baseAsset": spec.base, "quoteAsset": spec.quote}
            item["filters"] = [
                {"filterType": "PRICE_FILTER", "tickSize": self.num(spec.price(1))},
                {"filterType": "LOT_SIZE", "stepSize": self.num(spec.size(1))},
            ]
            symbols.append(item)
        limit: dict[str, Any] = {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE"}
        limit |= {"intervalNum": 1, "limit": self.rest_limit}
        payload = {"timezone": "UTC", "serverTime": self.hub.now_ms(), "rateLimits": [limit]}
        return json_answer(payload | {"symbols": symbols})
