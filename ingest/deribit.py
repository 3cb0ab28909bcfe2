"""Deribit JSON-RPC over WebSocket: perpetuals, futures and options.

Instruments: ``BTC-PERPETUAL`` (``BTC-USD-PERP``), ``BTC_USDC-PERPETUAL``
(``BTC-USDC-PERP``), ``BTC-27DEC24`` (``BTC-USD-20241227``),
``BTC-27DEC24-60000-C`` (``BTC-USD-20241227-60000-C``); linear options write
a decimal strike with ``d`` (``XRP_USDC-30AUG24-0d625-C``). Notifications
are ``{"method": "subscription", "params": {"channel": ..., "data": ...}}``;
numbers are JSON numbers, not strings. Heartbeats and ``test_request`` are
answered by the connection layer, so they parse to nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar

from ingest.sequence_rules import DeribitRule
from ingest.venue import Handler, Venue
from ingest.wire import (
    integer,
    optional,
    positive_or_none,
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

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_NATIVE = re.compile(
    r"^(?P<base>[A-Z0-9]+)(?:_(?P<quote>[A-Z0-9]+))?-(?:(?P<perp>PERPETUAL)|"
    r"(?P<day>\d{1,2})(?P<month>[A-Z]{3})(?P<year>\d{2})"
    r"(?:-(?P<strike>\d+(?:d\d+)?)-(?P<cp>[CP]))?)$"
)
_SIDES = {"buy": Side.BUY, "sell": Side.SELL}
_OTHER_SIDE = {Side.BUY: Side.SELL, Side.SELL: Side.BUY}
_INTERVAL = "100ms"  # "raw" needs an authorized connection


class Deribit(Venue):
    name = "deribit"
    ws_url = "wss://www.deribit.com/ws/api/v2"
    rest_url = "https://www.deribit.com/api/v2"
    hosts = ("www.deribit.com", "deribit.com", "streams.deribit.com")
    channels: ClassVar[dict[str, str]] = {
        "trades": "trades",
        "ticker": "ticker",
        "book": "book",
        "funding": "ticker",
        "open_interest": "ticker",
        "liquidations": "trades",
    }
    book_rule = DeribitRule()
    max_streams_per_connection = 500
    max_messages_per_second = 20
    rest_weight_per_minute = None  # credit-based: 20 credits/s sustained, no weights
    trade_history_path = "/public/get_last_trades_by_instrument"
    contiguous_trade_ids = True  # trade_seq, per instrument
    #: Seconds between Deribit's ``test_request`` heartbeats (minimum 10).
    heartbeat_interval = 10

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._handlers: dict[str, Handler] = {
            "trades": self._trades,
            "ticker": self._ticker,
            "book": self._book,
        }

    def to_native(self, symbol: str) -> str:
        instrument = Instrument.parse(symbol)
        base = (
            instrument.base
            if instrument.quote == "USD"
            else f"{instrument.base}_{instrument.quote}"
        )
        if instrument.type is InstrumentType.PERPETUAL:
            return f"{base}-PERPETUAL"
        expiry = instrument.expiry
        if expiry is None:
            raise ValueError(f"{self.name} has no spot instrument {symbol!r}")
        dated = f"{base}-{expiry.day}{_MONTHS[expiry.month - 1]}{expiry:%y}"
        if instrument.type is InstrumentType.FUTURE:
            return dated
        return f"{dated}-{str(instrument.strike).replace('.', 'd')}-{instrument.option_type}"

    def native_to_canonical(self, native: str) -> str | None:
        match = _NATIVE.match(native)
        if match is None:
            return None
        head = f"{match['base']}-{match['quote'] or 'USD'}"
        if match["perp"]:
            return f"{head}-PERP"
        if match["month"] not in _MONTHS:
            return None
        month = _MONTHS.index(match["month"]) + 1
        dated = f"{head}-20{match['year']}{month:02d}{int(match['day']):02d}"
        if match["strike"] is None:
            return dated
        return f"{dated}-{match['strike'].replace('d', '.')}-{match['cp']}"

    def subscribe_messages(self, symbols: Iterable[str], channels: Iterable[str]) -> list[Any]:
        """One ``public/subscribe`` request for ``<channel>.<instrument>.100ms`` channels.

        Funding and open interest arrive on ``ticker``, liquidations on
        ``trades``, so those subscriptions are shared.
        """
        wanted = self.check_channels(channels)
        names = {
            f"{self.channels[channel]}.{self.to_native(symbol)}.{_INTERVAL}": None
            for symbol in symbols
            for channel in wanted
        }
        if not names:
            return []
        params = {"channels": list(names)}
        return [{"jsonrpc": "2.0", "id": 1, "method": "public/subscribe", "params": params}]

    def unsubscribe_messages(self, symbols: Iterable[str], channels: Iterable[str]) -> list[Any]:
        return [
            {**message, "method": "public/unsubscribe"}
            for message in self.subscribe_messages(symbols, channels)
        ]

    def connect_messages(self) -> list[Any]:
        """Ask for heartbeats: Deribit then sends ``test_request`` and closes
        the connection when it is not answered."""
        params = {"interval": self.heartbeat_interval}
        return [{"jsonrpc": "2.0", "id": 0, "method": "public/set_heartbeat", "params": params}]

    def reply(self, raw: str | bytes) -> Any | None:
        """``{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}``
        -> a ``public/test`` request."""
        probe = raw[:200]
        found = "test_request" in probe if isinstance(probe, str) else b"test_request" in probe
        if not found:
            return None
        return {"jsonrpc": "2.0", "id": 0, "method": "public/test", "params": {}}

    def trade_history_params(
        self, native: str, *, after: int, before: int | None, cursor: int | None
    ) -> dict[str, str]:
        """``GET /api/v2/public/get_last_trades_by_instrument?instrument_name=BTC-PERPETUAL
        &start_seq=N&end_seq=M&count=1000&sorting=asc``, by ``trade_seq``, oldest first."""
        params = {
            "instrument_name": native,
            "start_seq": str(after + 1 if cursor is None else cursor),
            "count": "1000",
            "sorting": "asc",
        }
        if before is not None:
            params["end_seq"] = str(before - 1)
        return params

    def _trade_history(self, message: Any, received_at: datetime, native: str) -> list[Record]:
        """``{"jsonrpc":"2.0","result":{"trades":[{"trade_seq":30289432,...}],
        "has_more":false}}`` (items as in the ``trades`` channel)."""
        if "error" in message:
            raise DecodeError(f"venue error: {message['error']}")
        records = self._trades(message["result"]["trades"], received_at)
        if any(getattr(record, "native_symbol", native) != native for record in records):
            raise DecodeError(f"trade history of {native} holds another instrument")
        return records

    def _dispatch(self, message: Any, received_at: datetime) -> list[Record]:
        if type(message) is not dict:
            raise DecodeError("expected a JSON object")
        if "error" in message:
            raise DecodeError(f"venue error: {message['error']}")
        method = message.get("method")
        if method == "subscription":
            params = message["params"]
            kind = params["channel"].partition(".")[0]
            handler = self._handlers.get(kind)
            if handler is None:
                raise DecodeError(f"unsupported channel {params['channel']!r}")
            return handler(params["data"], received_at)
        if method == "heartbeat" or (method is None and "result" in message):
            return []  # heartbeat / test_request, or the answer to one of our requests
        raise DecodeError(f"unsupported message (method {method!r})")

    def _trades(self, data: Any, received_at: datetime) -> list[Record]:
        """``{"jsonrpc":"2.0","method":"subscription","params":{"channel":
        "trades.BTC-PERPETUAL.100ms","data":[{"trade_seq":30289432,"trade_id":"48079254",
        "timestamp":1590484156350,"tick_direction":0,"price":8950.0,"mark_price":8948.9,
        "instrument_name":"BTC-PERPETUAL","index_price":8955.88,"direction":"sell",
        "amount":10.0,"liquidation":"M"}]}}``

        A trade with ``liquidation`` (``M`` maker, ``T`` taker, ``MT`` both
        were liquidated) also yields a :class:`Liquidation` per liquidated order.
        Inverse contracts (quote USD) count ``amount`` in USD: that is the
        trade's quote quantity.
        """
        records: list[Record] = []
        for item in data:
            source = self.source_of(item["instrument_name"])
            when = utc_from_ms(item["timestamp"])
            at, amount = price(item["price"]), quantity(item["amount"])
            side = _SIDES[item["direction"]]
            inverse = (
                source.instrument_type is not InstrumentType.OPTION
                and source.symbol.split("-")[1] == "USD"
            )
            extra = {"quote_quantity": amount} if inverse else {}
            trade_id = text(item["trade_id"])
            records.append(
                Trade.trusted(
                    source,
                    when,
                    received_at,
                    **extra,
                    trade_id=trade_id,
                    price=at,
                    quantity=amount,
                    side=side,
                    sequence=integer(item["trade_seq"]),
                )
            )
            who = item.get("liquidation") or ""
            if who not in ("", "M", "T", "MT"):
                raise DecodeError(f"unknown liquidation flag {who!r}")
            forced = ([side] if "T" in who else []) + ([_OTHER_SIDE[side]] if "M" in who else [])
            records.extend(
                Liquidation.trusted(
                    source,
                    when,
                    received_at,
                    **extra,
                    side=s,
                    price=at,
                    quantity=amount,
                    trade_id=trade_id,
                )
                for s in forced
            )
        return records

    def _ticker(self, data: Any, received_at: datetime) -> list[Record]:
        """``{"jsonrpc":"2.0","method":"subscription","params":{"channel":
        "ticker.BTC-PERPETUAL.100ms","data":{"timestamp":1623060194301,"stats":{"volume_usd":
        1.6e+08,"volume":3400.5,"price_change":1.2,"low":35000.0,"high":36500.0},"state":"open",
        "settlement_price":35800.0,"open_interest":700000000,"min_price":35300.0,
        "max_price":36400.0,"mark_price":35850.5,"last_price":35860.0,"instrument_name":
        "BTC-PERPETUAL","index_price":35840.2,"funding_8h":0.0001,"current_funding":0.00002,
        "best_bid_price":35855.0,"best_bid_amount":1000.0,"best_ask_price":35860.0,
        "best_ask_amount":5000.0}}}``

        Deribit writes 0 for an empty book side; that is no bid (or ask), not a
        zero price. A ticker with no quote and no last trade yields no
        :class:`Ticker` (there is no price to report), but its open interest and
        funding still count.
        """
        source = self.source_of(data["instrument_name"])
        when = utc_from_ms(data["timestamp"])
        stats = data.get("stats") or {}
        ticker = {
            "bid_price": positive_or_none(data.get("best_bid_price")),
            "ask_price": positive_or_none(data.get("best_ask_price")),
            "last_price": optional(price, data.get("last_price")),
        }
        records: list[Record] = []
        if ticker["last_price"] is not None or None not in (
            ticker["bid_price"],
            ticker["ask_price"],
        ):
            records.append(
                Ticker.trusted(
                    source,
                    when,
                    received_at,
                    **ticker,
                    bid_size=optional(size, data.get("best_bid_amount")),
                    ask_size=optional(size, data.get("best_ask_amount")),
                    high_24h=optional(price, stats.get("high")),
                    low_24h=optional(price, stats.get("low")),
                    volume_24h=optional(size, stats.get("volume")),
                    quote_volume_24h=optional(size, stats.get("volume_usd")),
                    price_change_pct_24h=optional(signed, stats.get("price_change")),
                )
            )
        if source.instrument_type is InstrumentType.PERPETUAL and "funding_8h" in data:
            records.append(
                FundingRate.trusted(
                    source,
                    when,
                    received_at,
                    funding_rate=signed(data["funding_8h"]),
                    mark_price=optional(price, data.get("mark_price")),
                    index_price=optional(price, data.get("index_price")),
                    interval_hours=8,
                )
            )
        if data.get("open_interest") is not None:
            interest = size(data["open_interest"])
            records.append(OpenInterest.trusted(source, when, received_at, open_interest=interest))
        return records

    def _book(self, data: Any, received_at: datetime) -> list[Record]:
        """``{"jsonrpc":"2.0","method":"subscription","params":{"channel":
        "book.BTC-24SEP21-8000-P.raw","data":{"type":"change","timestamp":1626993724318,
        "prev_change_id":33195894164,"instrument_name":"BTC-24SEP21-8000-P",
        "change_id":33195894355,"bids":[],"asks":[["new",0.001,2.6]]}}}``

        Levels are ``[action, price, amount]``; ``delete`` has amount 0.
        """
        source = self.source_of(data["instrument_name"])
        when = utc_from_ms(data["timestamp"])
        bids = [(price(at), size(amount)) for _, at, amount in data["bids"]]
        asks = [(price(at), size(amount)) for _, at, amount in data["asks"]]
        sequence = integer(data["change_id"])
        kind = data.get("type", "snapshot")
        if kind == "snapshot":
            depth = max(len(bids), len(asks), 1)
            return [
                BookSnapshot.trusted(
                    source, when, received_at, bids=bids, asks=asks, sequence=sequence, depth=depth
                )
            ]
        if kind != "change":
            raise DecodeError(f"unknown book type {kind!r}")
        prev = data.get("prev_change_id")
        return [
            BookDelta.trusted(
                source,
                when,
                received_at,
                bids=bids,
                asks=asks,
                sequence=sequence,
                prev_sequence=None if prev is None else integer(prev),
            )
        ]
