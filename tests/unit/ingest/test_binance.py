from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ingest.binance import Binance
from ingest.wire import DepthSnapshot
from models import BookDelta, DeadLetter, Side, Ticker, Trade
from models.exceptions import ConfigError
from tests.unit.ingest.samples import at_ms, dumps, only

TRADE = {
    "e": "trade",
    "E": 1723161255343,
    "s": "BTCUSDT",
    "t": 3735683259,
    "p": "61837.63000000",
    "q": "0.02000000",
    "T": 1723161255342,
    "m": True,
    "M": True,
}
RECV = at_ms(1723161255342)


def test_trade_raw_and_combined_stream_give_the_same_record() -> None:
    venue = Binance()
    raw = venue.parse(dumps(TRADE), RECV)
    combined = venue.parse(dumps({"stream": "btcusdt@trade", "data": TRADE}), RECV)
    assert raw == combined
    trade = only(raw)
    assert isinstance(raw[0], Trade)
    assert trade["symbol"] == "BTC-USDT"
    assert trade["native_symbol"] == "BTCUSDT"
    assert trade["price"] == Decimal("61837.63000000")
    assert trade["side"] is Side.SELL
    assert trade["trade_id"] == "3735683259"
    assert trade["sequence"] == 3735683259
    assert trade["timestamp"] == datetime(2024, 8, 8, 23, 54, 15, 342000, tzinfo=UTC)
    assert trade["collected_at"] == RECV


def test_agg_trade_uses_the_aggregate_id() -> None:
    message = {
        "e": "aggTrade",
        "E": 1633998523963,
        "s": "NKNUSDT",
        "a": 15683430,
        "p": "0.35280000",
        "q": "58.00000000",
        "f": 19862790,
        "l": 19862790,
        "T": 1633998523963,
        "m": False,
        "M": True,
    }
    trade = only(Binance().parse(dumps(message), at_ms(1633998523963)))
    assert (trade["trade_id"], trade["side"], trade["symbol"]) == ("15683430", Side.BUY, "NKN-USDT")


def test_book_ticker_without_event_time_uses_receive_time() -> None:
    message = {
        "u": 400900217,
        "s": "BNBUSDT",
        "b": "25.35190000",
        "B": "31.21000000",
        "a": "25.36520000",
        "A": "40.66000000",
    }
    records = Binance().parse(dumps(message), RECV)
    ticker = only(records)
    assert isinstance(records[0], Ticker)
    assert ticker["bid_price"] == Decimal("25.35190000")
    assert ticker["ask_size"] == Decimal("40.66000000")
    assert ticker["sequence"] == 400900217
    assert ticker["timestamp"] == RECV


def test_24h_ticker() -> None:
    message = {
        "e": "24hrTicker",
        "E": 1672515782136,
        "s": "BNBBTC",
        "p": "0.0015",
        "P": "250.00",
        "w": "0.0018",
        "x": "0.0009",
        "c": "0.0025",
        "Q": "10",
        "b": "0.0024",
        "B": "10",
        "a": "0.0026",
        "A": "100",
        "o": "0.0010",
        "h": "0.0025",
        "l": "0.0010",
        "v": "10000",
        "q": "18",
        "O": 0,
        "C": 86400000,
        "F": 0,
        "L": 18150,
        "n": 18151,
    }
    ticker = only(Binance().parse(dumps(message), at_ms(1672515782136)))
    assert ticker["symbol"] == "BNB-BTC"
    assert ticker["last_price"] == Decimal("0.0025")
    assert ticker["open_24h"] == Decimal("0.0010")
    assert ticker["volume_24h"] == Decimal("10000")
    assert ticker["quote_volume_24h"] == Decimal("18")
    assert ticker["price_change_pct_24h"] == Decimal("250.00")
    assert ticker["bid_price"] == Decimal("0.0024")


def test_depth_update_keeps_the_update_id_range() -> None:
    message = {
        "e": "depthUpdate",
        "E": 1633998512068,
        "s": "NKNUSDT",
        "U": 499869750,
        "u": 499869752,
        "b": [["0.35130000", "6195.00000000"]],
        "a": [["0.35340000", "0.00000000"]],
    }
    records = Binance().parse(dumps(message), at_ms(1633998512068))
    delta = only(records)
    assert isinstance(records[0], BookDelta)
    assert (delta["first_sequence"], delta["sequence"], delta["prev_sequence"]) == (
        499869750,
        499869752,
        None,
    )
    assert delta["asks"] == [(Decimal("0.35340000"), Decimal("0E-8"))]


def test_rest_depth_snapshot() -> None:
    body = dumps(
        {
            "lastUpdateId": 50093239218,
            "bids": [["61837.63000000", "3.78826000"]],
            "asks": [["61837.64000000", "1.54698000"]],
        }
    )
    snapshot = Binance().parse_snapshot(body, RECV, "BTC-USDT")
    assert isinstance(snapshot, DepthSnapshot)
    assert snapshot.sequence == 50093239218
    assert snapshot.timestamp is None
    assert snapshot.asks == [(Decimal("61837.64000000"), Decimal("1.54698000"))]
    bad = Binance().parse_snapshot(b'{"bids": []}', RECV, "BTC-USDT")
    assert isinstance(bad, DeadLetter)
    assert bad.channel == "book"


@pytest.mark.parametrize(
    "text",
    ['{"result":null,"id":1}', '{"result":["btcusdt@trade"],"id":3}'],
)
def test_acknowledgements_are_control(text: str) -> None:
    assert Binance().parse(text, RECV) == []


def test_error_answer_is_a_dead_letter() -> None:
    (dead,) = Binance().parse('{"error":{"code":2,"msg":"Invalid request"},"id":1}', RECV)
    assert isinstance(dead, DeadLetter)
    assert "venue error" in dead.reason


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"p": "0"}, "price"),
        ({"p": "-1"}, "price"),
        ({"q": "NaN"}, "quantity"),
        ({"p": "Infinity"}, "price"),
        ({"s": "???"}, "unknown symbol"),
        ({"m": "yes"}, "'m'"),
        ({"e": "kline"}, "unsupported event type 'kline'"),
    ],
)
def test_bad_trades_are_dead_letters(change: dict[str, object], reason: str) -> None:
    raw = dumps({**TRADE, **change})
    (dead,) = Binance().parse(raw, RECV)
    assert isinstance(dead, DeadLetter)
    assert reason in dead.reason
    assert dead.payload() == raw
    assert (dead.exchange, dead.source) == ("binance", "ingest:binance")


BOOK_TICKER = {"u": 5, "s": "BTCUSDT", "b": "61837.63", "B": "3.7", "a": "61837.64", "A": "1.5"}


@pytest.mark.parametrize(
    ("message", "broken", "reason"),
    [
        # the trade id is read first, then the side flag, symbol, time, price, quantity
        (TRADE, {"t": "x", "m": "yes", "s": "???"}, "not an integer: 'x'"),
        (TRADE, {"m": "yes", "s": "???", "p": "0"}, "'m' must be true or false"),
        (TRADE, {"s": "???", "T": "soon", "p": "0"}, "unknown symbol '???'"),
        (TRADE, {"T": "soon", "p": "0", "q": "0"}, "ValueError"),
        (TRADE, {"p": "0", "q": "0"}, "invalid price '0'"),
        (TRADE, {"q": "0"}, "invalid quantity '0'"),
        # a best bid/ask: time, symbol, bid, bid size, ask, ask size, update id
        (BOOK_TICKER, {"T": "soon", "s": "???", "u": "x"}, "ValueError"),
        (BOOK_TICKER, {"s": "???", "b": "0", "u": "x"}, "unknown symbol '???'"),
        (BOOK_TICKER, {"b": "0", "B": "-1", "u": "x"}, "invalid price '0'"),
        (BOOK_TICKER, {"B": "-1", "a": "0", "u": "x"}, "invalid size '-1'"),
        (BOOK_TICKER, {"a": "0", "A": "-1", "u": "x"}, "invalid price '0'"),
        (BOOK_TICKER, {"A": "-1", "u": "x"}, "invalid size '-1'"),
        (BOOK_TICKER, {"u": "x"}, "not an integer: 'x'"),
    ],
)
def test_the_first_bad_field_names_the_reason(
    message: dict[str, object], broken: dict[str, object], reason: str
) -> None:
    """Several bad fields: the reason is the one its fields are read in, always the same."""
    (dead,) = Binance().parse(dumps({"stream": "s", "data": {**message, **broken}}), RECV)
    assert isinstance(dead, DeadLetter)
    assert reason in dead.reason


def test_a_book_ticker_without_update_id_names_its_symbol_first() -> None:
    ticker = {k: v for k, v in BOOK_TICKER.items() if k != "u"} | {"e": "bookTicker"}
    (dead,) = Binance().parse(dumps({**ticker, "s": "???"}), RECV)
    assert isinstance(dead, DeadLetter)
    assert dead.reason == "unknown symbol '???'"
    (dead,) = Binance().parse(dumps(ticker), RECV)
    assert isinstance(dead, DeadLetter)
    assert dead.reason == "malformed message (KeyError: 'u')"


def test_missing_field_and_bad_json() -> None:
    trade = {k: v for k, v in TRADE.items() if k != "p"}
    for raw in (dumps(trade), b'{"e":"trade",', b"\xff\xfe", b"[1, 2]"):
        (dead,) = Binance().parse(raw, RECV)
        assert isinstance(dead, DeadLetter)
        assert dead.payload() == raw


def test_event_time_far_from_receive_time_is_refused_live_only() -> None:
    late = RECV + timedelta(minutes=10)
    (dead,) = Binance().parse(dumps(TRADE), late)
    assert isinstance(dead, DeadLetter)
    assert "from receive time" in dead.reason
    assert isinstance(Binance(max_clock_skew=None).parse(dumps(TRADE), late)[0], Trade)
    strict = Binance(max_clock_skew=timedelta(milliseconds=1))
    assert isinstance(strict.parse(dumps(TRADE), RECV)[0], DeadLetter)


def test_configured_symbols_close_the_symbol_set() -> None:
    venue = Binance(symbols=["ETH-USDT"])
    (dead,) = venue.parse(dumps(TRADE), RECV)
    assert isinstance(dead, DeadLetter)
    assert dead.reason == "unknown symbol 'BTCUSDT'"
    assert venue.to_canonical("ETHUSDT") == "ETH-USDT"
    assert venue.to_canonical("BTCUSDT") is None


@pytest.mark.parametrize(
    ("canonical", "native"),
    [
        ("BTC-USDT", "BTCUSDT"),
        ("BLZ-ETH", "BLZETH"),
        ("ETH-FDUSD", "ETHFDUSD"),
        ("1000SATS-USDT", "1000SATSUSDT"),
        ("RUNE-EUR", "RUNEEUR"),
    ],
)
def test_symbol_mapping_both_ways(canonical: str, native: str) -> None:
    venue = Binance()
    assert venue.to_native(canonical) == native
    assert venue.to_canonical(native) == canonical


def test_symbols_it_cannot_map() -> None:
    venue = Binance()
    assert venue.to_canonical("btcusdt") is None
    assert venue.to_canonical("USDT") is None
    with pytest.raises(ValueError, match="spot only"):
        venue.to_native("BTC-USDT-PERP")


def test_subscribe_messages() -> None:
    messages = Binance().subscribe_messages(["BTC-USDT", "ETH-USDT"], ["trades", "book", "ticker"])
    assert messages == [
        {
            "method": "SUBSCRIBE",
            "params": [
                "btcusdt@aggTrade",
                "btcusdt@depth@100ms",
                "btcusdt@bookTicker",
                "ethusdt@aggTrade",
                "ethusdt@depth@100ms",
                "ethusdt@bookTicker",
            ],
            "id": 1,
        }
    ]
    many = Binance().subscribe_messages([f"A{i}-USDT" for i in range(250)], ["trades"])
    assert [len(m["params"]) for m in many] == [200, 50]
    assert [m["id"] for m in many] == [1, 2]
    with pytest.raises(ConfigError, match="funding"):
        Binance().subscribe_messages(["BTC-USDT"], ["funding"])
