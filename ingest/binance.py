"""Binance spot: raw and combined streams, and the REST depth snapshot.

Streams: ``<symbol>@trade``, ``@aggTrade``, ``@bookTicker``, ``@ticker``
(24hrTicker) and ``@depth@100ms``. A combined-stream connection wraps each
event as ``{"stream": ..., "data": ...}``; both shapes are accepted.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar

from ingest.sequence_rules import BinanceSpotRule, SequenceRule
from ingest.venue import Handler, Venue
from ingest.wire import (
    DepthSnapshot,
    integer,
    levels,
    ms_time,
    optional,
    price,
    quantity,
    signed,
    size,
)
from models import Instrument, InstrumentType, Record, Side, Ticker
from models.book import checked_delta
from models.exceptions import DecodeError
from models.numbers import utc_from_ms
from models.ticker import checked_quote
from models.trade import Trade, checked_trade

#: Quote assets, longest first so ``FDUSD`` wins over a shorter suffix.
SPOT_QUOTES = tuple(
    sorted(
        "USDT FDUSD USDC TUSD BUSD DAI BTC ETH BNB EUR TRY BRL GBP AUD JPY RUB UAH "
        "BIDR IDRT NGN PLN RON ZAR ARS MXN COP CZK XRP DOGE DOT TRX PAX USDP VAI AEUR".split(),
        key=len,
        reverse=True,
    )
)

#: Subscriptions per SUBSCRIBE message; Binance allows 1024 streams a connection.
_STREAMS_PER_MESSAGE = 200
_BUY, _SELL = Side.BUY, Side.SELL  # module constants: enum attribute access is slow


def split_pair(native: str, quotes: tuple[str, ...]) -> tuple[str, str] | None:
    """``BTCUSDT`` -> (``BTC``, ``USDT``) by the longest known quote suffix."""
    if not native.isalnum() or not native.isupper():
        return None
    for quote in quotes:
        if native.endswith(quote) and len(native) > len(quote):
            return native[: -len(quote)], quote
    return None


class Binance(Venue):
    name = "binance"
    ws_url = "wss://stream.binance.com:9443/stream"
    rest_url = "https://api.binance.com"
    hosts: ClassVar[tuple[str, ...]] = ("stream.binance.com", "api.binance.com")
    recording_prefixes = ("spot_",)
    channels: ClassVar[dict[str, str]] = {
        "trades": "aggTrade",
        "ticker": "bookTicker",
        "book": "depth@100ms",
    }
    depth_snapshot_path = "/api/v3/depth"
    book_rule: ClassVar[SequenceRule] = BinanceSpotRule()
    max_streams_per_connection = 1024
    max_messages_per_second = 5
    rest_weight_per_minute = 6000
    max_connection_age = 24 * 3600.0
    depth_snapshot_weight = 50  # limit=1000
    trade_history_path = "/api/v3/aggTrades"
    trade_history_weight = 4
    contiguous_trade_ids = True
    #: Levels asked of the REST depth snapshot.
    depth_snapshot_limit = 1000
    quotes: ClassVar[tuple[str, ...]] = SPOT_QUOTES

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._handlers: dict[str | None, Handler] = {
            "trade": self._trade,
            "aggTrade": self._agg_trade,
            "bookTicker": self._book_ticker,
            "24hrTicker": self._day_ticker,
            "depthUpdate": self._depth,
        }

    def to_native(self, symbol: str) -> str:
        instrument = Instrument.parse(symbol)
        if instrument.type is not InstrumentType.SPOT:
            raise ValueError(f"{self.name} trades spot only, not {symbol!r}")
        return instrument.base + instrument.quote

    def native_to_canonical(self, native: str) -> str | None:
        pair = split_pair(native, self.quotes)
        return None if pair is None else f"{pair[0]}-{pair[1]}"

    def subscribe_messages(self, symbols: Iterable[str], channels: Iterable[str]) -> list[Any]:
        """``{"method": "SUBSCRIBE", "params": ["btcusdt@trade", ...], "id": n}`` messages."""
        wanted = self.check_channels(channels)
        streams = [
            f"{self.to_native(symbol).lower()}@{self.channels[channel]}"
            for symbol in symbols
            for channel in wanted
        ]
        return [
            {"method": "SUBSCRIBE", "params": streams[i : i + _STREAMS_PER_MESSAGE], "id": n}
            for n, i in enumerate(range(0, len(streams), _STREAMS_PER_MESSAGE), start=1)
        ]

    def unsubscribe_messages(self, symbols: Iterable[str], channels: Iterable[str]) -> list[Any]:
        return [
            {**message, "method": "UNSUBSCRIBE"}
            for message in self.subscribe_messages(symbols, channels)
        ]

    def depth_snapshot_params(self, native: str) -> dict[str, str]:
        return {"symbol": native, "limit": str(self.depth_snapshot_limit)}

    def trade_history_params(
        self, native: str, *, after: int, before: int | None, cursor: int | None
    ) -> dict[str, str]:
        """``GET /api/v3/aggTrades?symbol=BTCUSDT&fromId=N&limit=1000``, oldest first."""
        start = after + 1 if cursor is None else cursor
        return {"symbol": native, "fromId": str(start), "limit": "1000"}

    def _trade_history(self, message: Any, received_at: datetime, native: str) -> list[Record]:
        """``[{"a":26129,"p":"0.01633102","q":"4.70443515","f":27781,"l":27781,
        "T":1498793709153,"m":true,"M":true}]`` (the REST aggregate trade has no symbol)."""
        if type(message) is not list:
            raise DecodeError("expected a list of aggregate trades")
        return [
            self._trade_record({**item, "s": native}, integer(item["a"]), received_at)
            for item in message
        ]

    def _dispatch(self, message: Any, received_at: datetime) -> list[Record]:
        if type(message) is dict:
            if "stream" in message:
                message = message["data"]
            elif "id" in message:
                if "error" in message:
                    raise DecodeError(f"venue error: {message['error']}")
                return []  # {"result": null, "id": 1}: a (un)subscribe acknowledgement
        if type(message) is list:  # the !...@arr streams send a list of events
            return [record for item in message for record in self._event(item, received_at)]
        return self._event(message, received_at)

    def _event(self, data: Any, received_at: datetime) -> list[Record]:
        if type(data) is not dict:
            raise DecodeError("expected an event object")
        kind = data.get("e")
        if kind is None and "u" in data and "b" in data:
            kind = "bookTicker"  # the spot bookTicker carries no event type
        handler = self._handlers.get(kind)
        if handler is None:
            raise DecodeError(f"unsupported event type {kind!r}")
        return handler(data, received_at)

    # The handlers below are the hot path (every trade and best bid/ask): each wire
    # value is read in the order the reasons of bad input depend on, ints that are
    # ints skip ``integer``, and records come from the models' one-step builders.

    def _trade(self, data: Any, received_at: datetime) -> list[Record]:
        """``{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,
        "p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}``"""
        trade_id = data["t"]
        trade_id = trade_id if type(trade_id) is int else integer(trade_id)
        return [self._trade_record(data, trade_id, received_at)]

    def _agg_trade(self, data: Any, received_at: datetime) -> list[Record]:
        """``{"e":"aggTrade","E":1633998523963,"s":"NKNUSDT","a":15683430,"p":"0.35280000",
        "q":"58.00000000","f":19862790,"l":19862790,"T":1633998523963,"m":false,"M":true}``"""
        trade_id = data["a"]
        trade_id = trade_id if type(trade_id) is int else integer(trade_id)
        return [self._trade_record(data, trade_id, received_at)]

    def _trade_record(self, data: Any, trade_id: int, received_at: datetime) -> Trade:
        maker_bought = data["m"]
        if type(maker_bought) is not bool:
            raise DecodeError(f"'m' must be true or false, not {maker_bought!r}")
        native = data["s"]
        return checked_trade(
            self._sources.get(native) or self.source_of(native),
            ms_time(data["T"]),
            received_at,
            str(trade_id),
            price(data["p"]),
            quantity(data["q"]),
            _SELL if maker_bought else _BUY,
            trade_id,
        )

    def _book_ticker(self, data: Any, received_at: datetime) -> list[Record]:
        """``{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000",
        "a":"61837.64000000","A":"1.54698000"}`` (USD-M adds ``"e"``, ``"E"`` and ``"T"``).

        The spot message carries no exchange time at all; until the models let
        a ticker say so, its receive time stands in as the event time.
        """
        ms = data.get("T")
        when = received_at if ms is None else ms_time(ms)
        native = data["s"]
        return [
            checked_quote(
                self._sources.get(native) or self.source_of(native),
                when,
                received_at,
                price(data["b"]),
                size(data["B"]),
                price(data["a"]),
                size(data["A"]),
                update_id if type(update_id := data["u"]) is int else integer(update_id),
            )
        ]

    def _day_ticker(self, data: Any, received_at: datetime) -> list[Record]:
        """``{"e":"24hrTicker","E":1672515782136,"s":"BNBBTC","p":"0.0015","P":"250.00",
        "w":"0.0018","x":"0.0009","c":"0.0025","Q":"10","b":"0.0024","B":"10","a":"0.0026",
        "A":"100","o":"0.0010","h":"0.0025","l":"0.0010","v":"10000","q":"18","O":0,
        "C":86400000,"F":0,"L":18150,"n":18151}`` (USD-M sends no b/B/a/A)."""
        return [
            Ticker.trusted(
                self.source_of(data["s"]),
                utc_from_ms(data["E"]),
                received_at,
                bid_price=optional(price, data.get("b")),
                bid_size=optional(size, data.get("B")),
                ask_price=optional(price, data.get("a")),
                ask_size=optional(size, data.get("A")),
                last_price=price(data["c"]),
                open_24h=price(data["o"]),
                high_24h=price(data["h"]),
                low_24h=price(data["l"]),
                volume_24h=size(data["v"]),
                quote_volume_24h=size(data["q"]),
                price_change_pct_24h=signed(data["P"]),
            )
        ]

    def _depth(self, data: Any, received_at: datetime) -> list[Record]:
        """``{"e":"depthUpdate","E":1633998512068,"s":"NKNUSDT","U":499869750,"u":499869752,
        "b":[["0.35130000","6195.00000000"]],"a":[]}`` (USD-M adds ``"T"`` and ``"pu"``).

        The event time is the transaction time ``T`` where sent, else ``E``.
        """
        return [
            checked_delta(
                self.source_of(data["s"]),
                utc_from_ms(data.get("T", data["E"])),
                received_at,
                levels(data["b"]),
                levels(data["a"]),
                integer(data["U"]),
                integer(data["u"]),
                None if "pu" not in data else integer(data["pu"]),
            )
        ]

    def _snapshot(self, message: Any, received_at: datetime, native: str) -> DepthSnapshot:
        """``GET /api/v3/depth?symbol=BTCUSDT&limit=1000`` ->
        ``{"lastUpdateId":50093239218,"bids":[["61837.63000000","3.78826000"]],"asks":[...]}``
        (USD-M adds ``"E"`` and ``"T"``, the latter kept as the exchange time)."""
        symbol, instrument_type = self.instrument(native)
        ms = message.get("T")
        return DepthSnapshot(
            exchange=self.name,
            symbol=symbol,
            native_symbol=native,
            instrument_type=instrument_type,
            sequence=integer(message["lastUpdateId"]),
            bids=levels(message["bids"]),
            asks=levels(message["asks"]),
            timestamp=None if ms is None else utc_from_ms(ms),
            collected_at=received_at,
        )
