"""The windows agent's fast path accepts a trade only as full decoding would, with the
same key and tick; what it leaves is decided by full decoding."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.trade_wire import FIELDS, TradeReader
from models import Trade, decode_any
from models.codec import encode
from models.exceptions import DecodeError
from tables.tick import Tick
from tests.unit.agents.market import market
from tests.unit.agents.test_processing import to_trade
from tests.unit.sinks.factories import HOUR0, trade

BASE = trade(
    3735683259,
    at=HOUR0 + timedelta(seconds=1, microseconds=343_000),
    price="61837.63000000",
    quantity="0.02000000",
)

TIMES = [
    "2024-08-09T00:00:01.343000Z",
    "2024-08-09T00:00:01Z",
    "2024-08-09T00:00:01.343Z",
    "2024-08-09T00:00:01.3430000Z",
    "2024-08-09T00:00:01.343000+00:00",
    "2024-08-09T02:00:01.343000+02:00",
    "2024-08-09T00:00:01.343000",
    "2024-08-09 00:00:01Z",
    "2024-02-30T00:00:00Z",
    "2024-08-09T24:00:00Z",
    "2024-08-09T23:59:60Z",
    "0000-01-01T00:00:00Z",
    "\u0662\u0660\u0662\u0664-08-09T00:00:01Z",
    "1723161601343",
    1723161601,
    1723161601.343,
    None,
]
NUMBERS = [
    "61837.63",
    "0.02000000",
    "1234.5",
    "0",
    "0.000",
    "-1",
    "+1",
    "1e3",
    "1E-8",
    "00.5",
    ".5",
    "5.",
    "1_000",
    " 5",
    "NaN",
    "Infinity",
    "1" + "0" * 17,
    "1" + "0" * 18,
    "0." + "0" * 17 + "1",
    "0." + "0" * 18 + "1",
    "1." + "0" * 21,
    "\u0665",
    61837.63,
    5,
    None,
]
CHOICES: dict[str, list[Any]] = {
    "exchange": ["binance", "okx", "Binance", "", 5, None],
    "symbol": ["BTC-USDT", "ETH-USDT", "btc-usdt", "BTC-USDT-PERP", 7],
    "native_symbol": ["BTCUSDT", "", ["BTCUSDT"]],
    "instrument_type": ["spot", "perpetual", "SPOT", 1],
    "timestamp": TIMES,
    "collected_at": TIMES,
    "type": ["trade", "ticker", None],
    "trade_id": ["3735683259", "", 5, None, "x" * 300],
    "price": NUMBERS,
    "quantity": NUMBERS,
    "quote_quantity": NUMBERS,
    "side": ["buy", "sell", "BUY", "", None],
    "is_buyer_maker": [False, True, 0, 1, "false", None],
    "sequence": [
        3735683259,
        None,
        -5,
        2**63 - 1,
        2**63,
        2**64 + 1,
        1.0,
        2.5,
        "5",
        "abc",
        [1],
        True,
    ],
}


def full(raw: bytes) -> Trade | None:
    """What full decoding makes of ``raw``: the trade, or ``None`` if it is no trade."""
    try:
        record = decode_any(raw)
    except DecodeError:
        return None
    return record if isinstance(record, Trade) else None


def taught() -> TradeReader:
    reader = TradeReader()
    reader.learn(BASE)
    return reader


def assert_same(reader: TradeReader, raw: bytes) -> bool:
    """Fast path and full decoding agree on ``raw``; whether the fast path took it."""
    fast = reader.read(raw, 42)
    if fast is None:
        return False
    record = full(raw)
    assert record is not None, raw
    assert (fast.key, fast.offset, fast.tick) == (record.key, 42, Tick.from_trade(record))
    assert fast.record() == record
    return True


def test_a_trade_of_a_known_instrument_takes_the_fast_path() -> None:
    raw = encode(BASE)
    assert TradeReader().read(raw, 1) is None  # its instrument is not vouched for yet
    assert assert_same(taught(), raw)


def test_every_trade_the_codec_writes_takes_the_fast_path() -> None:
    ticks = market("okx:ETH-USDT", seconds=120, price=2500, sigma=3e-4, rate=30, seed=4)
    trades = [to_trade(key, tick, n) for n, (key, tick) in enumerate(ticks)]
    reader = TradeReader()
    reader.learn(trades[0])
    assert all(assert_same(reader, encode(t)) for t in trades)


def changed(changes: dict[str, Any], dropped: str | None = None, extra: bool = False) -> bytes:
    """``BASE`` on the wire with some fields changed, one left out or one added."""
    value: dict[str, Any] = orjson.loads(encode(BASE))
    value.update(changes)
    if dropped is not None:
        del value[dropped]
    if extra:
        value["venue"] = "binance"
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:  # an int beyond 64 bits: written by hand
        big = value.pop("sequence")
        return orjson.dumps(value)[:-1] + f',"sequence":{big}}}'.encode()


@pytest.mark.parametrize(
    ("name", "choice"), [(name, choice) for name, values in CHOICES.items() for choice in values]
)
def test_each_field_alone_is_judged_as_full_decoding_does(name: str, choice: Any) -> None:
    assert_same(taught(), changed({name: choice}))


@settings(max_examples=600, deadline=None)
@given(
    changes=st.dictionaries(
        st.sampled_from(sorted(CHOICES)),
        st.integers(0, max(len(values) for values in CHOICES.values()) - 1),
        max_size=4,
    ),
    dropped=st.one_of(st.none(), st.sampled_from(sorted(FIELDS))),
    extra=st.booleans(),
)
def test_whatever_the_fast_path_takes_full_decoding_takes_alike(
    changes: dict[str, int], dropped: str | None, extra: bool
) -> None:
    picked = {name: CHOICES[name][index % len(CHOICES[name])] for name, index in changes.items()}
    assert_same(taught(), changed(picked, dropped, extra))


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'{"type": "trade"}',
        encode(BASE)[:-1],
        b"\xff" + encode(BASE),
        encode(BASE).replace(b"61837.63000000", b"6.1e4"),
        encode(BASE).replace(b'"buy"', b'"sell"'),  # is_buyer_maker says otherwise
    ],
)
def test_what_is_no_plain_trade_is_left_to_full_decoding(raw: bytes) -> None:
    assert taught().read(raw, 0) is None


def test_the_same_json_spelled_otherwise_reads_alike() -> None:
    spaced = encode(BASE).replace(b'"price":', b'"price" : ').replace(b",", b", ")
    assert assert_same(taught(), spaced)
