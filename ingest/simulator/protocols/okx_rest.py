"""OKX v5 REST market data, and the items it shares with the WebSocket pushes.

Answers are ``{"code": "0", "msg": "", "data": [...]}``; errors carry OKX's
codes (``50011`` rate limit, ``50014`` missing parameter, ``51001`` unknown
instrument). Each endpoint has its own limit: 20 requests per 2 seconds.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ingest.okx import INST_TYPES
from ingest.simulator.events import StatsUpdate, TradePrint
from ingest.simulator.history import id_range, time_range
from ingest.simulator.protocols.base import VenueProtocol, text
from ingest.simulator.rest import RequestError, RestAnswer, RestRequest, Route, json_answer
from ingest.simulator.symbol_state import FUNDING_PERIOD_MS
from models import Instrument

_V5 = "/api/v5"


def okx_answer(data: list[Any]) -> RestAnswer:
    return json_answer({"code": "0", "msg": "", "data": data})


class OkxRest(VenueProtocol):
    rest_limit = 20
    rest_window = 2.0

    def make_routes(self) -> dict[str, Route]:
        routes = {
            "/market/history-trades": self._history_trades,
            "/market/trades": self._recent_trades,
            "/market/books": self._books,
            "/public/open-interest": self._open_interest,
            "/public/funding-rate": self._funding_rate,
            "/public/time": lambda request: okx_answer([{"ts": str(self.hub.now_ms())}]),
        }
        return {_V5 + path: Route(handler, bucket=path) for path, handler in routes.items()}

    def rest_error(
        self, status: int, error: RequestError | None, retry_after: int = 0
    ) -> RestAnswer:
        headers = {"Retry-After": str(retry_after)} if retry_after else {}
        if error is not None:
            code = error.code or ("50014" if error.missing else "51000")
            body = {"code": str(code), "msg": error.reason, "data": []}
        elif status in (418, 429):
            body = {"code": "50011", "msg": "Too Many Requests", "data": []}
        elif status == 404:
            body = {"code": "404", "msg": "Not Found", "data": []}
        else:
            msg = "Service temporarily unavailable. Please try again later."
            body = {"code": "50001", "msg": msg, "data": []}
        return json_answer(body, status, headers)

    # -- items shared with the pushes -------------------------------------------------

    def ticker(self, event: StatsUpdate, native: str) -> dict[str, Any]:
        spot = not native.endswith("-SWAP") and native.count("-") == 1
        item = {"instType": INST_TYPES[Instrument.parse(event.symbol).type], "instId": native}
        item |= {"last": text(event.last_price), "lastSz": text(event.last_size)}
        if event.best_ask is not None:
            item |= {"askPx": text(event.best_ask[0]), "askSz": text(event.best_ask[1])}
        if event.best_bid is not None:
            item |= {"bidPx": text(event.best_bid[0]), "bidSz": text(event.best_bid[1])}
        item |= {"open24h": text(event.open_24h), "high24h": text(event.high_24h)}
        item |= {"low24h": text(event.low_24h)}
        volume, quote = text(event.volume_24h), text(event.quote_volume_24h)
        item |= {"volCcy24h": quote if spot else volume, "vol24h": volume}
        item |= {"sodUtc0": text(event.open_24h), "sodUtc8": text(event.open_24h)}
        return item | {"ts": str(event.timestamp)}

    def funding(self, event: StatsUpdate, native: str) -> dict[str, Any]:
        at = event.funding_time or 0
        rate = text(event.funding_rate) if event.funding_rate is not None else ""
        item = {"fundingRate": rate, "fundingTime": str(at), "instId": native}
        item |= {"instType": "SWAP", "method": "current_period", "nextFundingRate": ""}
        return item | {"nextFundingTime": str(at + FUNDING_PERIOD_MS), "ts": str(event.timestamp)}

    def open_interest(self, event: StatsUpdate, native: str) -> dict[str, Any]:
        """``oi`` in contracts (our sizes); ``oiCcy`` in the base currency, ``oiUsd`` in USD."""
        instrument = Instrument.parse(event.symbol)
        contracts = event.open_interest or Decimal(0)
        if instrument.quote == "USD":  # inverse: the contracts are USD
            base, usd = round(contracts / event.mark_price, 8), contracts
        else:
            base, usd = contracts, round(contracts * event.mark_price, 2)
        item = {"instType": INST_TYPES[instrument.type], "instId": native}
        item |= {"oi": text(contracts), "oiCcy": text(base), "oiUsd": text(usd)}
        return item | {"ts": str(event.timestamp)}

    # -- handlers ---------------------------------------------------------------------

    def _instrument(self, request: RestRequest) -> tuple[str, str]:
        native = request.text("instId", required=True) or ""
        symbol = self.canonical(native)
        if symbol is None:
            raise RequestError("Instrument ID does not exist.", param="instId", code="51001")
        return native, symbol

    def _item(self, trade: TradePrint, native: str) -> dict[str, str]:
        return {
            "instId": native,
            "side": trade.side.value,
            "sz": text(trade.quantity),
            "px": text(trade.price),
            "tradeId": str(trade.trade_id),
            "ts": str(trade.timestamp),
        }

    def _history_trades(self, request: RestRequest) -> RestAnswer:
        """``after``: ids (``type=1``) or times (``type=2``) below it; ``before``: above it;
        newest first, at most ``limit`` (100). With only ``before``, the trades just
        above it; otherwise the newest ones that qualify."""
        native, symbol = self._instrument(request)
        after, before = request.integer("after"), request.integer("before")
        limit = min(max(request.integer("limit", 100) or 100, 1), 100)
        by_time = request.text("type") == "2"
        low = None if before is None else before + 1
        high = None if after is None else after - 1
        trades = self.market.trades(symbol)
        found = time_range(trades, low, high) if by_time else id_range(trades, low, high)
        chosen = found[:limit] if before is not None and after is None else found[-limit:]
        return okx_answer([self._item(trade, native) for trade in reversed(chosen)])

    def _recent_trades(self, request: RestRequest) -> RestAnswer:
        native, symbol = self._instrument(request)
        limit = min(max(request.integer("limit", 100) or 100, 1), 500)
        chosen = self.market.trades(symbol)[-limit:]
        return okx_answer([self._item(trade, native) for trade in reversed(chosen)])

    def _books(self, request: RestRequest) -> RestAnswer:
        native, symbol = self._instrument(request)
        depth = min(max(request.integer("sz", 1) or 1, 1), 400)
        book = self.market.book(symbol)
        bids, asks = book.top(depth) if book is not None else ([], [])
        item = {"asks": [[text(p), text(q), "0", "1"] for p, q in asks]}
        item["bids"] = [[text(p), text(q), "0", "1"] for p, q in bids]
        return okx_answer([item | {"ts": str(self.hub.now_ms())}])

    def _stats(self, request: RestRequest) -> tuple[str, StatsUpdate]:
        native, symbol = self._instrument(request)
        stats = self.market.stats(symbol)
        if stats is None:
            raise RequestError("Instrument ID does not exist.", param="instId", code="51001")
        return native, stats

    def _open_interest(self, request: RestRequest) -> RestAnswer:
        """``instType`` is mandatory, as on OKX; ``instId`` narrows it to one instrument."""
        kind = request.text("instType", required=True)
        if request.text("instId") is None:
            symbols = [s for s in self._natives if INST_TYPES[Instrument.parse(s).type] == kind]
            stats = [(self._natives[s], self.market.stats(s)) for s in symbols]
            return okx_answer([self.open_interest(s, n) for n, s in stats if s and s.open_interest])
        native, one = self._stats(request)
        return okx_answer([self.open_interest(one, native)] if one.open_interest else [])

    def _funding_rate(self, request: RestRequest) -> RestAnswer:
        native, stats = self._stats(request)
        if stats.funding_rate is None:
            raise RequestError("Instrument ID does not exist.", param="instId", code="51001")
        return okx_answer([self.funding(stats, native)])
