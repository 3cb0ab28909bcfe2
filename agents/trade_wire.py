"""Trades from their Kafka bytes straight to window ticks: the windows agent's fast path.

Decoding a trade into a pydantic :class:`~models.Trade` costs more than the
windows then do with it, and the windows need five numbers of it. So the
windows agent reads the trades topic as bytes and :class:`TradeReader` turns
each value into its key and :class:`~tables.tick.Tick` with orjson, accepting
only what full validation (:func:`models.codec.decode_any`) certainly accepts
with the same values:

* exactly a trade's fields, ``type`` ``"trade"``;
* an instrument (exchange, symbol, native symbol, instrument type) already seen
  in a trade that passed full validation: every check of those four fields
  involves only them, so they pass again;
* both times in the codec's own form (``2024-08-09T00:00:01.343000Z``, or without
  the fraction) and on a real date;
* price, quantity and quote quantity as plain positive decimals (``61837.63``)
  with at most 18 digits before and after the point;
* side ``buy`` or ``sell`` with the matching ``is_buyer_maker``, a non-empty
  ``trade_id`` string, an integer or null ``sequence``.

Anything else (a new instrument, a time or number written otherwise, an invalid
record) is ``None``: the caller decodes it in full and calls
:meth:`TradeReader.learn` with what it accepted. So every trade is accepted,
rejected or dead-lettered exactly as before. Measured in the worker
(``bench/processing.py``), reading the bytes in the batch instead of having
Faust decode each event into a record saved about a fifth of the time per trade.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

import orjson

from models.codec import decode
from models.trade import Trade
from tables.tick import SECOND_US, Tick, epoch_us

FIELDS = frozenset(Trade.model_fields)
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-5][0-9]:[0-5][0-9](\.[0-9]{6})?Z")
_DECIMAL = re.compile(r"(?:0|[1-9][0-9]{0,17})(?:\.[0-9]{1,18})?")
_SIDES = {("buy", False): True, ("sell", True): False}  #: (side, is_buyer_maker) -> taker bought
MAX_CACHED = 100_000  #: instruments and minutes remembered (beyond: full decoding)

Instrument = tuple[Any, Any, Any, Any]  #: exchange, symbol, native symbol, instrument type


class WireTrade(NamedTuple):
    """One consumed trade read off its bytes; the record is decoded only when needed
    (a late trade's dead letter)."""

    key: str
    offset: int
    tick: Tick
    raw: bytes

    def record(self) -> Trade:
        return decode(self.raw, Trade)


class TradeReader:
    """Reads trade values; remembers the instruments and minutes it has vouched for."""

    __slots__ = ("_keys", "_minutes")

    def __init__(self) -> None:
        self._keys: dict[Instrument, str] = {}
        self._minutes: dict[str, int] = {}  #: "YYYY-MM-DDTHH:MM" -> its epoch us

    def learn(self, trade: Trade) -> None:
        """``trade`` passed full validation: its instrument is vouched for."""
        if len(self._keys) < MAX_CACHED:
            instrument = (trade.exchange, trade.symbol, trade.native_symbol)
            self._keys[(*instrument, trade.instrument_type.value)] = trade.key

    def read(self, raw: bytes, offset: int) -> WireTrade | None:
        """The trade in ``raw``, or ``None`` when only full decoding can tell."""
        try:
            value = orjson.loads(raw)
            if type(value) is not dict or value.keys() != FIELDS:
                return None
            key = self._keys.get(
                (
                    value["exchange"],
                    value["symbol"],
                    value["native_symbol"],
                    value["instrument_type"],
                )
            )
            buy = _SIDES.get((value["side"], value["is_buyer_maker"]))
        except (orjson.JSONDecodeError, TypeError):  # not JSON; an unhashable field
            return None
        trade_id, sequence = value["trade_id"], value["sequence"]
        if (
            key is None
            or buy is None
            or type(value["is_buyer_maker"]) is not bool  # 0 and 1 hash as False and True
            or value["type"] != "trade"
            or type(trade_id) is not str
            or not trade_id
            or (sequence is not None and type(sequence) is not int)
            or self._time_us(value["collected_at"]) is None
        ):
            return None
        ts_us = self._time_us(value["timestamp"])
        price = _positive(value["price"])
        quantity = _positive(value["quantity"])
        quote = _positive(value["quote_quantity"])
        if ts_us is None or price is None or quantity is None or quote is None:
            return None
        return WireTrade(key, offset, Tick(ts_us, price, quantity, quote, buy), raw)

    def _time_us(self, text: Any) -> int | None:
        if type(text) is not str or _TIME.fullmatch(text) is None:
            return None
        minute = self._minutes.get(text[:16])
        if minute is None:
            try:
                minute = epoch_us(datetime.fromisoformat(f"{text[:16]}:00Z"))
            except ValueError:  # not a real date
                return None
            if len(self._minutes) >= MAX_CACHED:
                self._minutes.clear()
            self._minutes[text[:16]] = minute
        micros = int(text[20:26]) if len(text) == 27 else 0
        return minute + int(text[17:19]) * SECOND_US + micros


def _positive(text: Any) -> Decimal | None:
    """A plain decimal above zero and below 10^18 with at most 18 places (what the
    price and quantity fields admit as they are), else ``None``."""
    if type(text) is not str or _DECIMAL.fullmatch(text) is None or not text.strip("0."):
        return None
    return Decimal(text)
