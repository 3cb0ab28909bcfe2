from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ingest.deribit import Deribit
from models import (
    BookDelta,
    BookSnapshot,
    DeadLetter,
    FundingRate,
    Liquidation,
    OpenInterest,
    Side,
    Ticker,
    Trade,
)
from tests.unit.ingest.samples import at_ms, dumps


def notification(channel: str, data: Any) -> bytes:
    return dumps(
        {"jsonrpc": "2.0", "method": "subscription", "params": {"channel": channel, "data": data}}
    )


TRADE = {
    "trade_seq": 30289432,
    "trade_id": "48079254",
    "timestamp": 1590484156350,
    "tick_direction": 0,
    "price": 8950.0,
    "mark_price": 8948.9,
    "instrument_name": "BTC-PERPETUAL",
    "index_price": 8955.88,
    "direction": "sell",
    "amount": 10.0,
}
PERP_TICKER = {
    "timestamp": 1623060194301,
    "stats": {
        "volume_usd": 1.6e8,
        "volume": 3400.5,
        "price_change": 1.2,
        "low": 35000.0,
        "high": 36500.0,
    },
    "state": "open",
    "open_interest": 700000000,
    "mark_price": 35850.5,
    "last_price": 35860.0,
    "instrument_name": "BTC-PERPETUAL",
    "index_price": 35840.2,
    "funding_8h": 0.0001,
    "current_funding": 0.00002,
    "best_bid_price": 35855.0,
    "best_bid_amount": 1000.0,
    "best_ask_price": 35860.0,
    "best_ask_amount": 5000.0,
}


def test_trade_inverse_amount_is_the_quote_quantity() -> None:
    (trade,) = Deribit().parse(
        notification("trades.BTC-PERPETUAL.100ms", [TRADE]), at_ms(1590484156350)
    )
    assert isinstance(trade, Trade)
    assert (trade.symbol, trade.side, trade.trade_id, trade.sequence) == (
        "BTC-USD-PERP",
        Side.SELL,
        "48079254",
        30289432,
    )
    assert (trade.price, trade.quantity, trade.quote_quantity) == (
        Decimal("8950.0"),
        Decimal("10.0"),
        Decimal("10.0"),
    )


@pytest.mark.parametrize(
    ("flag", "sides"), [("T", [Side.SELL]), ("M", [Side.BUY]), ("MT", [Side.SELL, Side.BUY])]
)
def test_liquidation_flag_adds_liquidations(flag: str, sides: list[Side]) -> None:
    raw = notification("trades.BTC-PERPETUAL.100ms", [{**TRADE, "liquidation": flag}])
    trade, *liquidations = Deribit().parse(raw, at_ms(1590484156350))
    assert isinstance(trade, Trade)
    assert all(isinstance(r, Liquidation) for r in liquidations)
    assert [r.model_dump()["side"] for r in liquidations] == sides
    assert all(r.model_dump()["trade_id"] == "48079254" for r in liquidations)


def test_perpetual_ticker_gives_ticker_funding_and_open_interest() -> None:
    ticker, funding, interest = Deribit().parse(
        notification("ticker.BTC-PERPETUAL.100ms", PERP_TICKER), at_ms(1623060194301)
    )
    assert isinstance(ticker, Ticker)
    assert (ticker.bid_price, ticker.ask_price, ticker.last_price) == (
        Decimal("35855.0"),
        Decimal("35860.0"),
        Decimal("35860.0"),
    )
    assert (ticker.volume_24h, ticker.quote_volume_24h) == (
        Decimal("3400.5"),
        Decimal("160000000.0"),
    )
    assert isinstance(funding, FundingRate)
    assert (
        funding.funding_rate,
        funding.mark_price,
        funding.index_price,
        funding.interval_hours,
    ) == (Decimal("0.0001"), Decimal("35850.5"), Decimal("35840.2"), 8)
    assert isinstance(interest, OpenInterest)
    assert interest.open_interest == Decimal("700000000")


def test_option_ticker_with_an_empty_book_and_no_trade_has_no_ticker() -> None:
    data = {
        **PERP_TICKER,
        "instrument_name": "BTC-27DEC24-60000-C",
        "best_bid_price": 0.0,
        "best_bid_amount": 0.0,
        "last_price": None,
        "stats": {"volume": None, "low": None, "high": None, "price_change": None},
    }
    del data["funding_8h"]
    (interest,) = Deribit().parse(
        notification("ticker.BTC-27DEC24-60000-C.100ms", data), at_ms(1623060194301)
    )
    assert isinstance(interest, OpenInterest)
    assert interest.symbol == "BTC-USD-20241227-60000-C"


def test_book_snapshot_and_change() -> None:
    snapshot = {
        "type": "snapshot",
        "timestamp": 1626993723632,
        "instrument_name": "ETH-30JUL21-2800-C",
        "change_id": 13169025645,
        "bids": [["new", 0.0015, 4714.0]],
        "asks": [["new", 0.0025, 873.0]],
    }
    change = {
        "type": "change",
        "timestamp": 1626993724318,
        "prev_change_id": 13169025645,
        "instrument_name": "ETH-30JUL21-2800-C",
        "change_id": 13169025650,
        "bids": [],
        "asks": [["delete", 0.0025, 0.0], ["new", 0.003, 2.6]],
    }
    venue = Deribit()
    (book,) = venue.parse(
        notification("book.ETH-30JUL21-2800-C.100ms", snapshot), at_ms(1626993723632)
    )
    assert isinstance(book, BookSnapshot)
    assert (book.sequence, book.bids) == (13169025645, [(Decimal("0.0015"), Decimal("4714.0"))])
    (delta,) = venue.parse(
        notification("book.ETH-30JUL21-2800-C.100ms", change), at_ms(1626993724318)
    )
    assert isinstance(delta, BookDelta)
    assert (delta.sequence, delta.prev_sequence) == (13169025650, 13169025645)
    assert delta.asks == [(Decimal("0.0025"), Decimal("0.0")), (Decimal("0.003"), Decimal("2.6"))]


@pytest.mark.parametrize(
    "text",
    [
        '{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"heartbeat"}}',
        '{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}',
        '{"jsonrpc":"2.0","id":1,"result":["trades.BTC-PERPETUAL.100ms"],"usIn":1,"usOut":2,"usDiff":1,"testnet":false}',
    ],
)
def test_control_messages(text: str) -> None:
    assert Deribit().parse(text, at_ms(1)) == []


def test_error_and_unknown_channel_are_dead_letters() -> None:
    venue = Deribit()
    (error,) = venue.parse(
        '{"jsonrpc":"2.0","id":1,"error":{"code":11050,"message":"bad_request"}}', at_ms(1)
    )
    assert isinstance(error, DeadLetter)
    assert "11050" in error.reason
    (unknown,) = venue.parse(notification("deribit_price_index.btc_usd", {"price": 1}), at_ms(1))
    assert isinstance(unknown, DeadLetter)
    (bad,) = venue.parse(
        notification("trades.BTC-PERPETUAL.100ms", [{**TRADE, "price": -1.0}]), at_ms(1590484156350)
    )
    assert isinstance(bad, DeadLetter)
    assert "price" in bad.reason


@pytest.mark.parametrize(
    ("canonical", "native"),
    [
        ("BTC-USD-PERP", "BTC-PERPETUAL"),
        ("BTC-USDC-PERP", "BTC_USDC-PERPETUAL"),
        ("BTC-USD-20241227", "BTC-27DEC24"),
        ("ETH-USD-20240705", "ETH-5JUL24"),
        ("BTC-USD-20241227-60000-C", "BTC-27DEC24-60000-C"),
        ("XRP-USDC-20240830-0.625-C", "XRP_USDC-30AUG24-0d625-C"),
    ],
)
def test_symbol_mapping_both_ways(canonical: str, native: str) -> None:
    venue = Deribit()
    assert venue.to_native(canonical) == native
    assert venue.to_canonical(native) == canonical


def test_unmappable_symbols() -> None:
    assert Deribit().to_canonical("BTC-27XYZ24") is None
    assert Deribit().to_canonical("BTCPERPETUAL") is None
    with pytest.raises(ValueError, match="spot"):
        Deribit().to_native("BTC-USD")


def test_subscribe_shares_channels() -> None:
    channels = ["trades", "ticker", "book", "funding", "open_interest", "liquidations"]
    (message,) = Deribit().subscribe_messages(["BTC-USD-PERP"], channels)
    assert message == {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "public/subscribe",
        "params": {
            "channels": [
                "trades.BTC-PERPETUAL.100ms",
                "ticker.BTC-PERPETUAL.100ms",
                "book.BTC-PERPETUAL.100ms",
            ]
        },
    }
