"""Binance USD-M futures: the spot streams plus funding, liquidations and open interest.

Perpetuals are ``BTCUSDT`` (canonical ``BTC-USDT-PERP``), quarterly
contracts ``BTCUSDT_241227`` (``BTC-USDT-20241227``). Depth updates carry
``pu``, the ``u`` of the previous update; ``markPrice@1s`` brings the funding
rate, ``forceOrder`` the liquidations; open interest is polled over REST.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, ClassVar

from ingest.binance import Binance, split_pair
from ingest.sequence_rules import BinanceFuturesRule
from ingest.wire import optional, optional_text, price, quantity, signed, size
from models import FundingRate, Instrument, InstrumentType, Liquidation, OpenInterest, Record, Side
from models.exceptions import DecodeError
from models.numbers import utc_from_ms

_DATED = re.compile(r"^([A-Z0-9]+)_(\d{6})$")


class BinanceFutures(Binance):
    name = "binance_futures"
    ws_url = "wss://fstream.binance.com/stream"
    rest_url = "https://fapi.binance.com"
    hosts = ("fstream.binance.com", "fapi.binance.com")
    recording_prefixes = ("usdm_",)
    channels: ClassVar[dict[str, str]] = {
        "trades": "aggTrade",
        "ticker": "bookTicker",
        "book": "depth@100ms",
        "funding": "markPrice@1s",
        "liquidations": "forceOrder",
    }
    polled_channels: ClassVar[dict[str, str]] = {"open_interest": "/fapi/v1/openInterest"}
    depth_snapshot_path = "/fapi/v1/depth"
    book_rule = BinanceFuturesRule()
    max_streams_per_connection = 1024
    max_messages_per_second = 10
    rest_weight_per_minute = 2400
    depth_snapshot_weight = 20  # limit=1000
    trade_history_path = "/fapi/v1/aggTrades"
    trade_history_weight = 20
    quotes: ClassVar[tuple[str, ...]] = ("USDT", "USDC", "BUSD")

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._handlers["markPriceUpdate"] = self._mark_price
        self._handlers["forceOrder"] = self._force_order
        self._rest_handlers["/fapi/v1/openInterest"] = self._open_interest
        self._rest_handlers["/fapi/v1/premiumIndex"] = self._premium_index

    def to_native(self, symbol: str) -> str:
        instrument = Instrument.parse(symbol)
        pair = instrument.base + instrument.quote
        if instrument.type is InstrumentType.PERPETUAL:
            return pair
        if instrument.type is InstrumentType.FUTURE and instrument.expiry is not None:
            return f"{pair}_{instrument.expiry:%y%m%d}"
        raise ValueError(f"{self.name} has no {instrument.type.value} {symbol!r}")

    def native_to_canonical(self, native: str) -> str | None:
        dated = _DATED.match(native)
        pair = split_pair(dated[1] if dated else native, self.quotes)
        if pair is None:
            return None
        if dated:
            return f"{pair[0]}-{pair[1]}-20{dated[2]}"
        return f"{pair[0]}-{pair[1]}-PERP"

    def _mark_price(self, data: Any, received_at: datetime) -> list[Record]:
        """``{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000",
        "i":"11784.62659091","P":"11784.25641265","r":"0.00038167","T":1562306400000}``

        ``r`` is the rate that settles at ``T``, the next funding time.
        """
        return [self._funding(data, data["E"], data["r"], data["T"], received_at)]

    def _premium_index(self, message: Any, received_at: datetime) -> list[Record]:
        """``GET /fapi/v1/premiumIndex`` -> ``{"symbol":"BTCUSDT","markPrice":"11793.63104562",
        "indexPrice":"11781.80495970","estimatedSettlePrice":"11781.16138815",
        "lastFundingRate":"0.00038246","interestRate":"0.00010000",
        "nextFundingTime":1597392000000,"time":1597370495002}`` (a list without ``symbol=``)."""
        items = message if type(message) is list else [message]
        return [
            self._funding(
                {"s": item["symbol"], "p": item["markPrice"], "i": item["indexPrice"]},
                item["time"],
                item["lastFundingRate"],
                item["nextFundingTime"],
                received_at,
            )
            for item in items
        ]

    def _funding(
        self, data: Any, ms: Any, rate: Any, next_ms: Any, received_at: datetime
    ) -> FundingRate:
        return FundingRate.trusted(
            self.source_of(data["s"]),
            utc_from_ms(ms),
            received_at,
            funding_rate=signed(rate),
            next_funding_time=utc_from_ms(next_ms) if next_ms else None,
            mark_price=price(data["p"]),
            index_price=optional(price, data.get("i")),
        )

    def _force_order(self, data: Any, received_at: datetime) -> list[Record]:
        """``{"e":"forceOrder","E":1568014460893,"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT",
        "f":"IOC","q":"0.014","p":"9910","ap":"9910","X":"FILLED","l":"0.014","z":"0.014",
        "T":1568014460893}}``: the average fill price ``ap`` and filled quantity ``z``."""
        order = data["o"]
        side = order["S"]
        if side not in ("BUY", "SELL"):
            raise DecodeError(f"unknown order side {side!r}")
        return [
            Liquidation.trusted(
                self.source_of(order["s"]),
                utc_from_ms(order["T"]),
                received_at,
                side=Side.BUY if side == "BUY" else Side.SELL,
                price=price(order["ap"]),
                quantity=quantity(order["z"]),
                order_status=optional_text(order.get("X")),
            )
        ]

    def _open_interest(self, message: Any, received_at: datetime) -> list[Record]:
        """``GET /fapi/v1/openInterest?symbol=BTCUSDT`` ->
        ``{"openInterest":"10659.509","symbol":"BTCUSDT","time":1589437530011}``"""
        return [
            OpenInterest.trusted(
                self.source_of(message["symbol"]),
                utc_from_ms(message["time"]),
                received_at,
                open_interest=size(message["openInterest"]),
            )
        ]
