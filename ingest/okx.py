"""OKX v5 public channels: spot, perpetual swaps, dated futures and options.

Instrument ids: ``BTC-USDT`` (spot), ``BTC-USDT-SWAP`` (``BTC-USDT-PERP``),
``BTC-USD-241227`` (``BTC-USD-20241227``), ``BTC-USD-241227-60000-C``
(``BTC-USD-20241227-60000-C``). Every push is
``{"arg": {"channel": ..., "instId": ...}, "data": [...]}``; books add
``"action": "snapshot"|"update"``. The plain-text ``pong`` answers our ``ping``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar

from ingest.sequence_rules import OkxRule
from ingest.venue import Handler, Venue
from ingest.wire import (
    integer,
    levels,
    optional,
    optional_integer,
    price,
    quantity,
    signed,
    size,
    text,
)
from models import (
    BookDelta,
    BookSnapshot,
    FundingRate,
    Instrument,
    InstrumentType,
    Liquidation,
    OpenInterest,
    Record,
    Side,
    Ticker,
    Trade,
)
from models.exceptions import DecodeError
from models.numbers import utc_from_ms

_INST_ID = re.compile(
    r"^(?P<pair>[A-Z0-9]+-[A-Z0-9]+)(?:-(?P<swap>SWAP)|-(?P<expiry>\d{6})"
    r"(?:-(?P<strike>\d+(?:\.\d+)?)-(?P<cp>[CP]))?)?$"
)
#: OKX instType of each instrument type (liquidations are subscribed per instType).
INST_TYPES = {
    InstrumentType.SPOT: "SPOT",
    InstrumentType.PERPETUAL: "SWAP",
    InstrumentType.FUTURE: "FUTURES",
    InstrumentType.OPTION: "OPTION",
}
_CONTROL_EVENTS = frozenset({"subscribe", "unsubscribe", "login", "notice", "channel-conn-count"})
_ARGS_PER_MESSAGE = 100
_SIDES = {"buy": Side.BUY, "sell": Side.SELL}


class Okx(Venue):
    name = "okx"
    ws_url = "wss://ws.okx.com:8443/ws/v5/public"
    rest_url = "https://www.okx.com"
    hosts = ("ws.okx.com", "wsaws.okx.com", "www.okx.com", "aws.okx.com")
    channels: ClassVar[dict[str, str]] = {
        "trades": "trades",
        "ticker": "tickers",
        "book": "books",
        "funding": "funding-rate",
        "open_interest": "open-interest",
        "liquidations": "liquidation-orders",
    }
    control_texts = frozenset({"pong"})
    book_rule = OkxRule()
    max_streams_per_connection = 480
    max_messages_per_second = 3
    rest_weight_per_minute = None  # per-endpoint limits, e.g. open-interest 20 per 2 s
    #: OKX closes a connection that has been silent for 30 s; we ping when idle.
    ping_text = "ping"
    trade_history_path = "/api/v5/market/history-trades"
    trade_history_descending = True

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        book = self._book
        self._handlers: dict[str, Handler] = {
            "trades": self._trades,
            "trades-all": self._trades,
            "tickers": self._tickers,
            "books": book,
            "books5": book,
            "books-l2-tbt": book,
            "books50-l2-tbt": book,
            "funding-rate": self._funding,
            "open-interest": self._open_interest,
            "liquidation-orders": self._liquidations,
        }
        self._rest_handlers["/api/v5/public/open-interest"] = self._rest(self._open_interest)
        self._rest_handlers["/api/v5/public/funding-rate"] = self._rest(self._funding)

    def to_native(self, symbol: str) -> str:
        instrument = Instrument.parse(symbol)
        head = f"{instrument.base}-{instrument.quote}"
        if instrument.type is InstrumentType.SPOT:
            return head
        if instrument.type is InstrumentType.PERPETUAL:
            return f"{head}-SWAP"
        dated = f"{head}-{instrument.expiry:%y%m%d}"
        if instrument.type is InstrumentType.FUTURE:
            return dated
        return f"{dated}-{instrument.strike}-{instrument.option_type}"

    def native_to_canonical(self, native: str) -> str | None:
        match = _INST_ID.match(native)
        if match is None:
            return None
        if match["swap"]:
            return f"{match['pair']}-PERP"
        if match["expiry"] is None:
            return native
        dated = f"{match['pair']}-20{match['expiry']}"
        return dated if match["strike"] is None else f"{dated}-{match['strike']}-{match['cp']}"

    def subscribe_messages(self, symbols: Iterable[str], channels: Iterable[str]) -> list[Any]:
        """``{"op": "subscribe", "args": [{"channel": "trades", "instId": "BTC-USDT"}, ...]}``.

        Funding exists for swaps only, open interest and liquidations for
        derivatives; liquidations are subscribed once per instType.
        """
        wanted = self.check_channels(channels)
        args: list[dict[str, str]] = []
        for symbol in symbols:
            kind = Instrument.parse(symbol).type
            for channel in wanted:
                name = self.channels[channel]
                if channel == "funding" and kind is not InstrumentType.PERPETUAL:
                    continue
                if channel in ("open_interest", "liquidations") and kind is InstrumentType.SPOT:
                    continue
                arg = {"channel": name, "instId": self.to_native(symbol)}
                if channel == "liquidations":
                    arg = {"channel": name, "instType": INST_TYPES[kind]}
                if arg not in args:
                    args.append(arg)
        return [
            {"op": "subscribe", "args": args[i : i + _ARGS_PER_MESSAGE]}
            for i in range(0, len(args), _ARGS_PER_MESSAGE)
        ]

    def unsubscribe_messages(self, symbols: Iterable[str], channels: Iterable[str]) -> list[Any]:
        return [
            {**message, "op": "unsubscribe"}
            for message in self.subscribe_messages(symbols, channels)
        ]

    def poll_params(self, channel: str, native: str) -> dict[str, str]:
        """OKX's public REST wants the instrument type next to the id."""
        symbol, kind = self.instrument(native)
        return {"instType": INST_TYPES[kind], "instId": native}

    def trade_history_params(
        self, native: str, *, after: int, before: int | None, cursor: int | None
    ) -> dict[str, str]:
        """``GET /api/v5/market/history-trades?instId=BTC-USDT&type=1&after=ID&limit=100``:
        trades with ids below ``after`` (OKX's word), newest first."""
        params = {"instId": native, "type": "1", "limit": "100"}
        below = before if cursor is None else cursor
        if below is not None:
            params["after"] = str(below)
        return params

    def _trade_history(self, message: Any, received_at: datetime, native: str) -> list[Record]:
        """``{"code":"0","msg":"","data":[{"instId":"BTC-USDT","side":"sell","sz":"0.0001",
        "px":"29963.2","tradeId":"242720720","ts":"1654161646974"}]}``"""
        if message["code"] != "0":
            raise DecodeError(f"venue error: {message['code']} {message.get('msg')}")
        records = self._trades(message, received_at)
        if any(getattr(record, "native_symbol", native) != native for record in records):
            raise DecodeError(f"trade history of {native} holds another instrument")
        return records

    def _dispatch(self, message: Any, received_at: datetime) -> list[Record]:
        if type(message) is not dict:
            raise DecodeError("expected a JSON object")
        event = message.get("event")
        if event is not None:
            if event in _CONTROL_EVENTS:
                return []
            raise DecodeError(f"venue {event}: {message.get('code')} {message.get('msg')}")
        channel = message["arg"]["channel"]
        handler = self._handlers.get(channel)
        if handler is None:
            raise DecodeError(f"unsupported channel {channel!r}")
        return handler(message, received_at)

    def _rest(self, handler: Handler) -> Handler:
        """A REST answer ``{"code":"0","msg":"","data":[...]}`` has the push's shape."""

        def parse(message: Any, received_at: datetime) -> list[Record]:
            if message["code"] != "0":
                raise DecodeError(f"venue error: {message['code']} {message.get('msg')}")
            return handler(message, received_at)

        return parse

    def _trades(self, message: Any, received_at: datetime) -> list[Record]:
        """``{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT",
        "tradeId":"130639474","px":"42219.9","sz":"0.12060306","side":"buy",
        "ts":"1630048897897","count":"3"}]}``"""
        return [
            Trade.trusted(
                self.source_of(item["instId"]),
                utc_from_ms(item["ts"]),
                received_at,
                trade_id=text(item["tradeId"]),
                price=price(item["px"]),
                quantity=quantity(item["sz"]),
                side=_SIDES[item["side"]],
                sequence=optional_integer(item["tradeId"]),
            )
            for item in message["data"]
        ]

    def _tickers(self, message: Any, received_at: datetime) -> list[Record]:
        """``{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instType":"SPOT",
        "instId":"BTC-USDT","last":"30219.4","lastSz":"0.00090403","askPx":"30219.5",
        "askSz":"0.84836627","bidPx":"30219.4","bidSz":"0.09585716","open24h":"31198.9",
        "high24h":"31463.2","low24h":"29835","sodUtc0":"29908.3","sodUtc8":"30815.1",
        "volCcy24h":"409316434.97","vol24h":"13300.13","ts":"1652459225405"}]}``

        ``vol24h`` is base volume for spot but contracts for derivatives, whose
        base volume is ``volCcy24h``.
        """
        records: list[Record] = []
        for item in message["data"]:
            source = self.source_of(item["instId"])
            spot = source.instrument_type is InstrumentType.SPOT
            records.append(
                Ticker.trusted(
                    source,
                    utc_from_ms(item["ts"]),
                    received_at,
                    bid_price=optional(price, item.get("bidPx")),
                    bid_size=optional(size, item.get("bidSz")),
                    ask_price=optional(price, item.get("askPx")),
                    ask_size=optional(size, item.get("askSz")),
                    last_price=optional(price, item.get("last")),
                    open_24h=optional(price, item.get("open24h")),
                    high_24h=optional(price, item.get("high24h")),
                    low_24h=optional(price, item.get("low24h")),
                    volume_24h=optional(size, item.get("vol24h" if spot else "volCcy24h")),
                    quote_volume_24h=optional(size, item.get("volCcy24h")) if spot else None,
                )
            )
        return records

    def _book(self, message: Any, received_at: datetime) -> list[Record]:
        """``{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":
        [["30243.5","1.2112","0","4"]],"bids":[["30182.6","452","0","1"]],"ts":"1652459225464",
        "checksum":-914047754,"seqId":123457,"prevSeqId":123456}]}``

        ``snapshot`` -> :class:`BookSnapshot` (its full depth), ``update`` ->
        :class:`BookDelta`; both keep the CRC32 ``checksum`` for the book layer to verify.
        """
        native = message["arg"]["instId"]
        action = message.get("action", "snapshot")
        if action not in ("snapshot", "update"):
            raise DecodeError(f"unknown book action {action!r}")
        records: list[Record] = []
        for item in message["data"]:
            source, when = self.source_of(native), utc_from_ms(item["ts"])
            bids, asks = levels(item["bids"]), levels(item["asks"])
            sequence = optional_integer(item.get("seqId"))
            checksum = optional_integer(item.get("checksum"))
            if action == "snapshot":
                depth = max(len(bids), len(asks), 1)
                records.append(
                    BookSnapshot.trusted(
                        source,
                        when,
                        received_at,
                        bids=bids,
                        asks=asks,
                        sequence=sequence,
                        checksum=checksum,
                        depth=depth,
                    )
                )
            else:
                prev = optional_integer(item.get("prevSeqId"))
                records.append(
                    BookDelta.trusted(
                        source,
                        when,
                        received_at,
                        bids=bids,
                        asks=asks,
                        sequence=sequence,
                        prev_sequence=prev,
                        checksum=checksum,
                    )
                )
        return records

    def _funding(self, message: Any, received_at: datetime) -> list[Record]:
        """``{"arg":{"channel":"funding-rate","instId":"BTC-USD-SWAP"},"data":[{"fundingRate":
        "0.0001875391284828","fundingTime":"1700726400000","instId":"BTC-USD-SWAP",
        "instType":"SWAP","method":"current_period","nextFundingRate":"",
        "nextFundingTime":"1700755200000","ts":"1700724675402"}]}``

        ``fundingRate`` settles at ``fundingTime``; the interval is the distance
        to ``nextFundingTime``.
        """
        records: list[Record] = []
        for item in message["data"]:
            at = integer(item["fundingTime"])
            following = optional_integer(item.get("nextFundingTime"))
            hours = None if following is None else (following - at) // 3_600_000
            records.append(
                FundingRate.trusted(
                    self.source_of(item["instId"]),
                    utc_from_ms(item["ts"]),
                    received_at,
                    funding_rate=signed(item["fundingRate"]),
                    next_funding_time=utc_from_ms(at),
                    estimated_rate=optional(signed, item.get("nextFundingRate")),
                    interval_hours=hours if hours is not None and 1 <= hours <= 24 else None,
                )
            )
        return records

    def _open_interest(self, message: Any, received_at: datetime) -> list[Record]:
        """``{"arg":{"channel":"open-interest","instId":"BTC-USDT-SWAP"},"data":[{"instType":
        "SWAP","instId":"BTC-USDT-SWAP","oi":"5000","oiCcy":"555.55","ts":"1597026383085"}]}``
        (also the answer of ``GET /api/v5/public/open-interest``).

        ``oi`` counts contracts; ``oiCcy`` is the same in the base currency and is
        what :class:`OpenInterest` carries.
        """
        return [
            OpenInterest.trusted(
                self.source_of(item["instId"]),
                utc_from_ms(item["ts"]),
                received_at,
                open_interest=size(item["oiCcy"]),
                open_interest_value=optional(size, item.get("oiUsd")),
            )
            for item in message["data"]
        ]

    def _liquidations(self, message: Any, received_at: datetime) -> list[Record]:
        """``{"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[{"details":[
        {"bkLoss":"0","bkPx":"0.007831","ccy":"","posSide":"short","side":"buy","sz":"13",
        "ts":"1692266434010"}],"instFamily":"IOST-USDT","instId":"IOST-USDT-SWAP",
        "instType":"SWAP","uly":"IOST-USDT"}]}``: ``bkPx`` is the bankruptcy price."""
        return [
            Liquidation.trusted(
                self.source_of(item["instId"]),
                utc_from_ms(detail["ts"]),
                received_at,
                side=_SIDES[detail["side"]],
                price=price(detail["bkPx"]),
                quantity=quantity(detail["sz"]),
            )
            for item in message["data"]
            for detail in item["details"]
        ]
