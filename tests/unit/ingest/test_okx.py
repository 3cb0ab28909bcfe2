from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ingest.okx import Okx
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
from tests.unit.ingest.samples import at_ms, dumps, only


def test_trades() -> None:
    message = {
        "arg": {"channel": "trades", "instId": "BTC-USDT"},
        "data": [
            {
                "instId": "BTC-USDT",
                "tradeId": "130639474",
                "px": "42219.9",
                "sz": "0.12060306",
                "side": "buy",
                "ts": "1630048897897",
                "count": "3",
            },
            {
                "instId": "BTC-USDT",
                "tradeId": "130639475",
                "px": "42220",
                "sz": "1",
                "side": "sell",
                "ts": "1630048897898",
            },
        ],
    }
    records = Okx().parse(dumps(message), at_ms(1630048897897))
    assert all(isinstance(r, Trade) for r in records)
    first, second = (r.model_dump() for r in records)
    assert (first["trade_id"], first["side"], first["price"]) == (
        "130639474",
        Side.BUY,
        Decimal("42219.9"),
    )
    assert first["sequence"] == 130639474
    assert second["side"] is Side.SELL


def test_derivative_ticker_volumes_are_in_base_currency() -> None:
    item = {
        "instType": "SWAP",
        "instId": "BTC-USDT-SWAP",
        "last": "9999.99",
        "lastSz": "1",
        "askPx": "10000",
        "askSz": "11",
        "bidPx": "9999.5",
        "bidSz": "5",
        "open24h": "9000",
        "high24h": "10000",
        "low24h": "8888.88",
        "volCcy24h": "2222",
        "vol24h": "222200",
        "ts": "1597026383085",
    }
    message = {"arg": {"channel": "tickers", "instId": "BTC-USDT-SWAP"}, "data": [item]}
    records = Okx().parse(dumps(message), at_ms(1597026383085))
    ticker = only(records)
    assert isinstance(records[0], Ticker)
    assert ticker["symbol"] == "BTC-USDT-PERP"
    assert ticker["volume_24h"] == Decimal("2222")
    assert ticker["quote_volume_24h"] is None
    spot = {**item, "instType": "SPOT", "instId": "BTC-USDT", "bidPx": "", "bidSz": ""}
    message = {"arg": {"channel": "tickers", "instId": "BTC-USDT"}, "data": [spot]}
    ticker = only(Okx().parse(dumps(message), at_ms(1597026383085)))
    assert (ticker["volume_24h"], ticker["quote_volume_24h"]) == (
        Decimal("222200"),
        Decimal("2222"),
    )
    assert ticker["bid_price"] is None


def test_book_snapshot_and_update_keep_sequence_ids() -> None:
    data = {
        "asks": [["8476.98", "415", "0", "13"]],
        "bids": [["8476.97", "256", "0", "12"]],
        "ts": "1597026383085",
        "checksum": -855196043,
        "prevSeqId": -1,
        "seqId": 123456,
    }
    arg = {"channel": "books", "instId": "BTC-USDT"}
    venue = Okx()
    (snapshot,) = venue.parse(
        dumps({"arg": arg, "action": "snapshot", "data": [data]}), at_ms(1597026383085)
    )
    assert isinstance(snapshot, BookSnapshot)
    assert (snapshot.sequence, snapshot.depth) == (123456, 1)
    update = {
        **data,
        "asks": [["8476.98", "0", "0", "0"]],
        "bids": [],
        "prevSeqId": 123456,
        "seqId": 123457,
    }
    (delta,) = venue.parse(
        dumps({"arg": arg, "action": "update", "data": [update]}), at_ms(1597026383085)
    )
    assert isinstance(delta, BookDelta)
    assert (delta.sequence, delta.prev_sequence) == (123457, 123456)
    assert delta.asks == [(Decimal("8476.98"), Decimal("0"))]
    (dead,) = venue.parse(
        dumps({"arg": arg, "action": "merge", "data": [update]}), at_ms(1597026383085)
    )
    assert isinstance(dead, DeadLetter)


def test_funding_rate() -> None:
    message = {
        "arg": {"channel": "funding-rate", "instId": "BTC-USD-SWAP"},
        "data": [
            {
                "fundingRate": "0.0001875391284828",
                "fundingTime": "1700726400000",
                "instId": "BTC-USD-SWAP",
                "instType": "SWAP",
                "method": "current_period",
                "maxFundingRate": "0.00375",
                "minFundingRate": "-0.00375",
                "nextFundingRate": "",
                "nextFundingTime": "1700755200000",
                "premium": "0.0001233824646391",
                "settFundingRate": "0.0001699936805356",
                "settState": "settled",
                "ts": "1700724675402",
            }
        ],
    }
    records = Okx().parse(dumps(message), at_ms(1700724675402))
    funding = only(records)
    assert isinstance(records[0], FundingRate)
    assert funding["symbol"] == "BTC-USD-PERP"
    assert funding["funding_rate"] == Decimal("0.0001875391284828")
    assert funding["next_funding_time"] == datetime(2023, 11, 23, 8, 0, tzinfo=UTC)
    assert funding["interval_hours"] == 8
    assert funding["estimated_rate"] is None


def test_open_interest_push_and_rest() -> None:
    item = {
        "instType": "SWAP",
        "instId": "BTC-USDT-SWAP",
        "oi": "5000",
        "oiCcy": "555.55",
        "oiUsd": "50000000",
        "ts": "1597026383085",
    }
    push = {"arg": {"channel": "open-interest", "instId": "BTC-USDT-SWAP"}, "data": [item]}
    venue = Okx()
    records = venue.parse(dumps(push), at_ms(1597026383085))
    assert isinstance(records[0], OpenInterest)
    rest = venue.parse_rest(
        "/api/v5/public/open-interest",
        dumps({"code": "0", "msg": "", "data": [item]}),
        at_ms(1597026383085),
    )
    assert rest == records
    assert only(rest)["open_interest"] == Decimal("555.55")
    (dead,) = venue.parse_rest(
        "/api/v5/public/open-interest",
        dumps({"code": "51001", "msg": "Instrument ID does not exist", "data": []}),
        at_ms(1),
    )
    assert isinstance(dead, DeadLetter)
    assert "51001" in dead.reason


def test_liquidation_orders() -> None:
    message = {
        "arg": {"channel": "liquidation-orders", "instType": "SWAP"},
        "data": [
            {
                "details": [
                    {
                        "bkLoss": "0",
                        "bkPx": "0.007831",
                        "ccy": "",
                        "posSide": "short",
                        "side": "buy",
                        "sz": "13",
                        "ts": "1692266434010",
                    }
                ],
                "instFamily": "IOST-USDT",
                "instId": "IOST-USDT-SWAP",
                "instType": "SWAP",
                "uly": "IOST-USDT",
            }
        ],
    }
    records = Okx().parse(dumps(message), at_ms(1692266434010))
    liquidation = only(records)
    assert isinstance(records[0], Liquidation)
    assert (liquidation["symbol"], liquidation["side"]) == ("IOST-USDT-PERP", Side.BUY)
    assert liquidation["price"] == Decimal("0.007831")


@pytest.mark.parametrize(
    "text",
    [
        "pong",
        '{"event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"},"connId":"a4d3ae55"}',
    ],
)
def test_control_messages(text: str) -> None:
    assert Okx().parse(text, at_ms(1)) == []
    assert Okx().parse(text.encode(), at_ms(1)) == []


def test_error_event_is_a_dead_letter() -> None:
    (dead,) = Okx().parse('{"event":"error","code":"60012","msg":"Invalid request"}', at_ms(1))
    assert isinstance(dead, DeadLetter)
    assert "60012" in dead.reason


@pytest.mark.parametrize(
    ("canonical", "native"),
    [
        ("BTC-USDT", "BTC-USDT"),
        ("BTC-USDT-PERP", "BTC-USDT-SWAP"),
        ("BTC-USD-20241227", "BTC-USD-241227"),
        ("BTC-USD-20241227-60000-C", "BTC-USD-241227-60000-C"),
        ("ETH-USD-20220514-1300-P", "ETH-USD-220514-1300-P"),
    ],
)
def test_symbol_mapping_both_ways(canonical: str, native: str) -> None:
    venue = Okx()
    assert venue.to_native(canonical) == native
    assert venue.to_canonical(native) == canonical
    assert Okx().to_canonical("BTC-USD-SWAPS") is None


def test_subscribe_messages() -> None:
    channels = ["trades", "funding", "open_interest", "liquidations"]
    (message,) = Okx().subscribe_messages(["BTC-USDT", "BTC-USDT-PERP", "ETH-USDT-PERP"], channels)
    assert message == {
        "op": "subscribe",
        "args": [
            {"channel": "trades", "instId": "BTC-USDT"},
            {"channel": "trades", "instId": "BTC-USDT-SWAP"},
            {"channel": "funding-rate", "instId": "BTC-USDT-SWAP"},
            {"channel": "open-interest", "instId": "BTC-USDT-SWAP"},
            {"channel": "liquidation-orders", "instType": "SWAP"},
            {"channel": "trades", "instId": "ETH-USDT-SWAP"},
            {"channel": "funding-rate", "instId": "ETH-USDT-SWAP"},
            {"channel": "open-interest", "instId": "ETH-USDT-SWAP"},
        ],
    }
