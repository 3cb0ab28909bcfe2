"""Binance USD-M futures: the spot protocol plus ``pu``, mark price, liquidations, ``/fapi/v1``.

Depth updates carry ``T`` and ``pu`` (the previous update's ``u``), the
book ticker its event type and times; ``markPrice@1s`` brings the funding
rate, ``forceOrder`` the liquidations. REST adds open interest and the
premium index; the weight limit is 2400 a minute.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from ingest.binance_futures import BinanceFutures
from ingest.simulator.events import BookUpdate, LiquidationPrint, StatsUpdate, TradePrint
from ingest.simulator.protocols.binance import BinanceProtocol
from ingest.simulator.rest import RequestError, RestAnswer, RestRequest, Route, json_answer
from ingest.venue import Venue

#: The interest rate part of the premium index (0.01 % per 8 h).
_INTEREST_RATE = "0.00010000"


class BinanceFuturesProtocol(BinanceProtocol):
    venue_class: ClassVar[type[Venue]] = BinanceFutures
    max_incoming_per_second = 10
    api = "/fapi/v1"
    rest_limit = 2400
    depth_weights = ((50, 2), (100, 5), (500, 10), (1000, 20))
    depth_default = 500
    agg_trades_weight = 20
    recent_trades_weight = 5
    exchange_info_weight = 1
    best_match_field = False

    def num(self, value: Decimal) -> str:
        return format(value, "f")

    def make_routes(self) -> dict[str, Route]:
        routes = super().make_routes()
        routes["/fapi/v1/openInterest"] = Route(self._open_interest)
        routes["/fapi/v1/premiumIndex"] = Route(self._premium_index, self._premium_weight)
        return routes

    def depth_times(self) -> dict[str, Any]:
        now = self.hub.now_ms()
        return {"E": now, "T": now}

    # -- streams ----------------------------------------------------------------------

    def trade_message(self, trade: TradePrint, native: str, key: str) -> tuple[Any, Any]:
        message, item = super().trade_message(trade, native, key)
        if message["e"] == "aggTrade":
            del message["M"]
        return message, item

    def depth(self, event: BookUpdate, native: str) -> dict[str, Any]:
        message = super().depth(event, native)
        message["T"] = event.timestamp
        message["pu"] = event.prev_id
        return message

    def book_ticker(self, event: BookUpdate, native: str) -> dict[str, Any] | None:
        message = super().book_ticker(event, native)
        if message is None:
            return None
        return {"e": "bookTicker", "E": event.timestamp, "T": event.timestamp} | message

    def day_ticker(self, event: StatsUpdate, native: str) -> dict[str, Any]:
        message = super().day_ticker(event, native)
        for field in ("x", "b", "B", "a", "A"):
            message.pop(field, None)
        return message

    def stats_payloads(self, event: StatsUpdate, native: str, prefix: str) -> list[tuple[str, Any]]:
        if event.funding_rate is None or event.funding_time is None:
            return []
        if not self.hub.wanted(prefix + "markPrice"):
            return []
        message = {"e": "markPriceUpdate", "E": event.timestamp, "s": native}
        message |= {"p": self.num(event.mark_price), "i": self.num(event.index_price)}
        message |= {"P": self.num(event.index_price), "r": self.num(event.funding_rate)}
        return [("markPrice", message | {"T": event.funding_time})]

    def liquidation_payloads(
        self, event: LiquidationPrint, native: str, prefix: str
    ) -> list[tuple[str, Any]]:
        if not self.hub.wanted(prefix + "forceOrder"):
            return []
        price, size = self.num(event.price), self.num(event.quantity)
        order: dict[str, Any] = {"s": native, "S": event.side.value.upper(), "o": "LIMIT"}
        order |= {"f": "IOC", "q": size, "p": price, "ap": price, "X": "FILLED"}
        order |= {"l": size, "z": size, "T": event.timestamp}
        return [("forceOrder", {"e": "forceOrder", "E": event.timestamp, "o": order})]

    # -- REST -------------------------------------------------------------------------

    def _stats(self, native: str) -> StatsUpdate:
        symbol = self.canonical(native)
        stats = self.market.stats(symbol) if symbol else None
        if stats is None:
            raise RequestError("Invalid symbol.", param="symbol", code=-1121)
        return stats

    def _open_interest(self, request: RestRequest) -> RestAnswer:
        native = request.text("symbol", required=True) or ""
        stats = self._stats(native)
        interest = self.num(stats.open_interest or Decimal(0))
        return json_answer({"openInterest": interest, "symbol": native, "time": stats.timestamp})

    def _premium_weight(self, request: RestRequest) -> int:
        return 1 if request.text("symbol") else 10

    def _premium_index(self, request: RestRequest) -> RestAnswer:
        native = request.text("symbol")
        if native is not None:
            return json_answer(self._premium(native))
        perpetuals = [n for s, n in self._natives.items() if s.endswith("-PERP")]
        return json_answer([self._premium(n) for n in perpetuals])

    def _premium(self, native: str) -> dict[str, Any]:
        stats = self._stats(native)
        funding = self.num(stats.funding_rate) if stats.funding_rate is not None else ""
        item: dict[str, Any] = {"symbol": native, "markPrice": self.num(stats.mark_price)}
        item |= {"indexPrice": self.num(stats.index_price)}
        item |= {"estimatedSettlePrice": self.num(stats.index_price)}
        item |= {"lastFundingRate": funding, "interestRate": _INTEREST_RATE}
        item |= {"nextFundingTime": stats.funding_time or 0, "time": stats.timestamp}
        return item
