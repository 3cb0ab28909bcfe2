from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ingest.binance_futures import BinanceFutures
from models import DeadLetter, FundingRate, Liquidation, OpenInterest, Side
from tests.unit.ingest.samples import at_ms, dumps, only


def test_depth_update_carries_pu_and_transaction_time() -> None:
    message = {
        "e": "depthUpdate",
        "E": 1626992741037,
        "T": 1626992741024,
        "s": "SUSHIUSDT",
        "U": 600859599090,
        "u": 600859600917,
        "pu": 600859598061,
        "b": [["7.5040", "813"]],
        "a": [],
    }
    delta = only(BinanceFutures().parse(dumps(message), at_ms(1626992741037)))
    assert delta["symbol"] == "SUSHI-USDT-PERP"
    assert delta["prev_sequence"] == 600859598061
    assert delta["timestamp"] == datetime(2021, 7, 22, 22, 25, 41, 24000, tzinfo=UTC)


def test_mark_price_update_is_a_funding_rate() -> None:
    message = {
        "e": "markPriceUpdate",
        "E": 1562305380000,
        "s": "BTCUSDT",
        "p": "11794.15000000",
        "i": "11784.62659091",
        "P": "11784.25641265",
        "r": "0.00038167",
        "T": 1562306400000,
    }
    combined = {"stream": "btcusdt@markPrice@1s", "data": message}
    records = BinanceFutures().parse(dumps(combined), at_ms(1562305380000))
    funding = only(records)
    assert isinstance(records[0], FundingRate)
    assert funding["funding_rate"] == Decimal("0.00038167")
    assert funding["mark_price"] == Decimal("11794.15000000")
    assert funding["index_price"] == Decimal("11784.62659091")
    assert funding["next_funding_time"] == datetime(2019, 7, 5, 6, 0, tzinfo=UTC)


def test_mark_price_array_stream() -> None:
    item = {
        "e": "markPriceUpdate",
        "E": 1562305380000,
        "s": "ETHUSDT",
        "p": "300.1",
        "i": "300.0",
        "P": "300.2",
        "r": "-0.0001",
        "T": 1562306400000,
    }
    records = BinanceFutures().parse(dumps([item, {**item, "s": "BTCUSDT"}]), at_ms(1562305380000))
    assert [r.model_dump()["symbol"] for r in records] == ["ETH-USDT-PERP", "BTC-USDT-PERP"]


def test_force_order_is_a_liquidation() -> None:
    message = {
        "e": "forceOrder",
        "E": 1568014460893,
        "o": {
            "s": "BTCUSDT",
            "S": "SELL",
            "o": "LIMIT",
            "f": "IOC",
            "q": "0.014",
            "p": "9910",
            "ap": "9910",
            "X": "FILLED",
            "l": "0.014",
            "z": "0.014",
            "T": 1568014460893,
        },
    }
    records = BinanceFutures().parse(dumps(message), at_ms(1568014460893))
    liquidation = only(records)
    assert isinstance(records[0], Liquidation)
    assert liquidation["side"] is Side.SELL
    assert (liquidation["price"], liquidation["quantity"]) == (Decimal("9910"), Decimal("0.014"))
    assert liquidation["quote_quantity"] == Decimal("138.740")
    assert liquidation["order_status"] == "FILLED"


def test_rest_open_interest_and_premium_index() -> None:
    venue = BinanceFutures()
    body = dumps({"openInterest": "10659.509", "symbol": "BTCUSDT", "time": 1589437530011})
    records = venue.parse_rest("/fapi/v1/openInterest", body, at_ms(1589437530011))
    assert isinstance(records[0], OpenInterest)
    assert only(records)["open_interest"] == Decimal("10659.509")
    premium = {
        "symbol": "BTCUSDT",
        "markPrice": "11793.63104562",
        "indexPrice": "11781.80495970",
        "estimatedSettlePrice": "11781.16138815",
        "lastFundingRate": "0.00038246",
        "interestRate": "0.00010000",
        "nextFundingTime": 1597392000000,
        "time": 1597370495002,
    }
    for body in (dumps(premium), dumps([premium])):
        funding = only(venue.parse_rest("/fapi/v1/premiumIndex", body, at_ms(1597370495002)))
        assert funding["funding_rate"] == Decimal("0.00038246")
        assert funding["mark_price"] == Decimal("11793.63104562")
    (dead,) = venue.parse_rest("/fapi/v1/nothing", body, at_ms(1597370495002))
    assert isinstance(dead, DeadLetter)


def test_bad_liquidation_side() -> None:
    message = {
        "e": "forceOrder",
        "E": 1,
        "o": {"s": "BTCUSDT", "S": "HOLD", "ap": "1", "z": "1", "T": 1568014460893},
    }
    (dead,) = BinanceFutures().parse(dumps(message), at_ms(1568014460893))
    assert isinstance(dead, DeadLetter)
    assert "side" in dead.reason


@pytest.mark.parametrize(
    ("canonical", "native"),
    [
        ("BTC-USDT-PERP", "BTCUSDT"),
        ("ETH-USDC-PERP", "ETHUSDC"),
        ("BTC-USDT-20241227", "BTCUSDT_241227"),
        ("1000PEPE-USDT-PERP", "1000PEPEUSDT"),
    ],
)
def test_symbol_mapping_both_ways(canonical: str, native: str) -> None:
    venue = BinanceFutures()
    assert venue.to_native(canonical) == native
    assert venue.to_canonical(native) == canonical


def test_subscribe_skips_polled_open_interest() -> None:
    channels = ["trades", "funding", "liquidations", "open_interest"]
    (message,) = BinanceFutures().subscribe_messages(["BTC-USDT-PERP"], channels)
    assert message["params"] == ["btcusdt@aggTrade", "btcusdt@markPrice@1s", "btcusdt@forceOrder"]
    assert BinanceFutures.polled_channels["open_interest"] == "/fapi/v1/openInterest"
    with pytest.raises(ValueError, match="spot"):
        BinanceFutures().to_native("BTC-USDT")
