"""Random and mutated messages at every parser: nothing escapes, bad input is a dead letter."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.registry import VENUES
from ingest.venue import Venue
from models import DeadLetter, Record

RECV = datetime(2024, 8, 8, 23, 54, 15, tzinfo=UTC)
#: A valid message per venue and message type, with the path of one price in it.
SAMPLES: list[tuple[str, Any, tuple[Any, ...]]] = [
    (
        "binance",
        {
            "stream": "btcusdt@trade",
            "data": {
                "e": "trade",
                "E": 1723161255343,
                "s": "BTCUSDT",
                "t": 1,
                "p": "61837.63",
                "q": "0.02",
                "T": 1723161255342,
                "m": True,
            },
        },
        ("data", "p"),
    ),
    (
        "binance",
        {"u": 5, "s": "BTCUSDT", "b": "61837.63", "B": "3.7", "a": "61837.64", "A": "1.5"},
        ("a",),
    ),
    (
        "binance",
        {
            "e": "depthUpdate",
            "E": 1723161255208,
            "s": "BTCUSDT",
            "U": 1,
            "u": 2,
            "b": [["61737.63", "0"]],
            "a": [["61837.64", "1.5"]],
        },
        ("a", 0, 0),
    ),
    (
        "binance",
        {
            "e": "24hrTicker",
            "E": 1723161255208,
            "s": "BTCUSDT",
            "P": "1.2",
            "c": "0.0025",
            "o": "0.0010",
            "h": "0.0025",
            "l": "0.0010",
            "v": "10000",
            "q": "18",
        },
        ("c",),
    ),
    (
        "binance_futures",
        {
            "e": "markPriceUpdate",
            "E": 1723161255208,
            "s": "BTCUSDT",
            "p": "11794.15",
            "i": "11784.6",
            "r": "0.00038167",
            "T": 1723190400000,
        },
        ("p",),
    ),
    (
        "binance_futures",
        {
            "e": "forceOrder",
            "E": 1723161255208,
            "o": {
                "s": "BTCUSDT",
                "S": "SELL",
                "ap": "9910",
                "z": "0.014",
                "X": "FILLED",
                "T": 1723161255208,
            },
        },
        ("o", "ap"),
    ),
    (
        "binance_futures",
        {
            "e": "depthUpdate",
            "E": 1723161255208,
            "T": 1723161255200,
            "s": "BTCUSDT",
            "U": 1,
            "u": 2,
            "pu": 0,
            "b": [["61737.6", "1"]],
            "a": [],
        },
        ("b", 0, 0),
    ),
    (
        "okx",
        {
            "arg": {"channel": "trades", "instId": "BTC-USDT"},
            "data": [
                {
                    "instId": "BTC-USDT",
                    "tradeId": "1",
                    "px": "42219.9",
                    "sz": "0.1",
                    "side": "buy",
                    "ts": "1723161255208",
                }
            ],
        },
        ("data", 0, "px"),
    ),
    (
        "okx",
        {
            "arg": {"channel": "tickers", "instId": "BTC-USDT-SWAP"},
            "data": [
                {
                    "instId": "BTC-USDT-SWAP",
                    "last": "9999.9",
                    "askPx": "10000",
                    "askSz": "1",
                    "bidPx": "9999",
                    "bidSz": "2",
                    "ts": "1723161255208",
                }
            ],
        },
        ("data", 0, "last"),
    ),
    (
        "okx",
        {
            "arg": {"channel": "books", "instId": "BTC-USDT"},
            "action": "update",
            "data": [
                {
                    "asks": [["8476.98", "415", "0", "13"]],
                    "bids": [],
                    "ts": "1723161255208",
                    "checksum": 1,
                    "seqId": 2,
                    "prevSeqId": 1,
                }
            ],
        },
        ("data", 0, "asks", 0, 0),
    ),
    (
        "okx",
        {
            "arg": {"channel": "liquidation-orders", "instType": "SWAP"},
            "data": [
                {
                    "instId": "BTC-USDT-SWAP",
                    "details": [
                        {"bkPx": "50000", "side": "sell", "sz": "13", "ts": "1723161255208"}
                    ],
                }
            ],
        },
        ("data", 0, "details", 0, "bkPx"),
    ),
    (
        "okx",
        {
            "arg": {"channel": "funding-rate", "instId": "BTC-USDT-SWAP"},
            "data": [
                {
                    "instId": "BTC-USDT-SWAP",
                    "fundingRate": "0.0001",
                    "fundingTime": "1723190400000",
                    "ts": "1723161255208",
                }
            ],
        },
        ("data", 0, "instId"),
    ),
    (
        "deribit",
        {
            "jsonrpc": "2.0",
            "method": "subscription",
            "params": {
                "channel": "trades.BTC-PERPETUAL.100ms",
                "data": [
                    {
                        "trade_seq": 1,
                        "trade_id": "4",
                        "timestamp": 1723161255208,
                        "price": 8950.5,
                        "instrument_name": "BTC-PERPETUAL",
                        "direction": "sell",
                        "amount": 10,
                        "liquidation": "T",
                    }
                ],
            },
        },
        ("params", "data", 0, "amount"),
    ),
    (
        "deribit",
        {
            "jsonrpc": "2.0",
            "method": "subscription",
            "params": {
                "channel": "ticker.BTC-PERPETUAL.100ms",
                "data": {
                    "timestamp": 1723161255208,
                    "instrument_name": "BTC-PERPETUAL",
                    "last_price": 61000.5,
                    "best_bid_price": 61000.0,
                    "best_ask_price": 61001.0,
                    "funding_8h": 0.0001,
                    "mark_price": 61000.2,
                    "open_interest": 1000,
                },
            },
        },
        ("params", "data", "last_price"),
    ),
    (
        "deribit",
        {
            "jsonrpc": "2.0",
            "method": "subscription",
            "params": {
                "channel": "book.BTC-PERPETUAL.100ms",
                "data": {
                    "type": "change",
                    "timestamp": 1723161255208,
                    "instrument_name": "BTC-PERPETUAL",
                    "change_id": 2,
                    "prev_change_id": 1,
                    "bids": [["new", 61000.0, 10.0]],
                    "asks": [],
                },
            },
        },
        ("params", "data", "bids", 0, 1),
    ),
]

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
#: "" and null are left out: OKX and Deribit use them for "no value" in optional fields.
bad_numbers = st.sampled_from(
    ["0", "-1", "NaN", "Infinity", "-Infinity", "1e999", "abc", True, [], {}]
)


def venue(name: str) -> Venue:
    return VENUES[name](max_clock_skew=None)


def check(records: list[Record], raw: bytes | str) -> None:
    assert isinstance(records, list)
    assert all(isinstance(r, Record) for r in records)
    dead = [r for r in records if isinstance(r, DeadLetter)]
    if dead:
        assert len(records) == 1
        payload = raw if isinstance(raw, bytes) else raw.encode()
        assert dead[0].payload() == payload


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


def put(message: Any, path: tuple[Any, ...], value: Any, delete: bool = False) -> Any:
    mutated = copy.deepcopy(message)
    target = mutated
    for step in path[:-1]:
        target = target[step]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return mutated


@pytest.mark.parametrize("name", list(VENUES))
def test_samples_are_valid(name: str) -> None:
    for venue_name, message, _ in SAMPLES:
        if venue_name == name:
            records = venue(name).parse(orjson.dumps(message), RECV)
            assert records
            assert not any(isinstance(r, DeadLetter) for r in records), records


@pytest.mark.parametrize("name", list(VENUES))
@FUZZ
@given(raw=st.binary(max_size=200) | st.text(max_size=200))
def test_random_input_never_raises(name: str, raw: bytes | str) -> None:
    records = venue(name).parse(raw, RECV)
    check(records, raw)


@pytest.mark.parametrize("name", list(VENUES))
@FUZZ
@given(value=json_values)
def test_random_json_is_a_dead_letter_or_control(name: str, value: Any) -> None:
    raw = json.dumps(value).encode()
    records = venue(name).parse(raw, RECV)
    check(records, raw)
    assert all(isinstance(r, DeadLetter) for r in records)


@FUZZ
@given(data=st.data(), sample=st.sampled_from(SAMPLES), value=json_values, delete=st.booleans())
def test_mutated_messages_never_raise(
    data: st.DataObject, sample: Any, value: Any, delete: bool
) -> None:
    name, message, _ = sample
    path = data.draw(st.sampled_from(paths(message)))
    raw = json.dumps(put(message, path, value, delete=delete)).encode()
    check(venue(name).parse(raw, RECV), raw)


@FUZZ
@given(sample=st.sampled_from(SAMPLES), bad=bad_numbers)
def test_bad_price_or_size_is_a_dead_letter(sample: Any, bad: Any) -> None:
    name, message, price_path = sample
    raw = orjson.dumps(put(message, price_path, bad))
    (dead,) = venue(name).parse(raw, RECV)
    assert isinstance(dead, DeadLetter)


@FUZZ
@given(sample=st.sampled_from(SAMPLES), data=st.data())
def test_truncated_messages_are_dead_letters(sample: Any, data: st.DataObject) -> None:
    name, message, _ = sample
    raw = orjson.dumps(message)
    cut = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    (dead,) = venue(name).parse(raw[:cut], RECV)
    assert isinstance(dead, DeadLetter)
