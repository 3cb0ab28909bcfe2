"""REST answers: trade history against the market's ground truth, rate limits, errors."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

from ingest.simulator import SimulatedExchange, SyntheticMarket
from models import FundingRate, OpenInterest
from tests.unit.simulator.helpers import get, parser, post

NOW = 1_700_000_000.0  # 20 s into a minute: Binance's window ends 40 s later
Row = tuple[int, Decimal, Decimal, str, int]


def frozen() -> float:
    return NOW


def market(*symbols: str) -> SyntheticMarket:
    """3000 steps of a market whose clock advances 1 ms a reading (distinct trade times)."""
    ticks = itertools.count()
    source = SyntheticMarket(symbols, seed=5, paused=True, clock=lambda: NOW + next(ticks) / 1000)
    source.step(3000)
    return source


def truth(trades: Any) -> list[Row]:
    return [(t.trade_id, t.price, t.quantity, t.side.value, t.timestamp) for t in trades]


def binance_rows(body: Any) -> list[Row]:
    side = {True: "sell", False: "buy"}
    return [(r["a"], Decimal(r["p"]), Decimal(r["q"]), side[r["m"]], r["T"]) for r in body]


def okx_rows(body: Any) -> list[Row]:
    return [
        (int(r["tradeId"]), Decimal(r["px"]), Decimal(r["sz"]), r["side"], int(r["ts"]))
        for r in body["data"]
    ]


def deribit_rows(body: Any) -> list[Row]:
    return [
        (r["trade_seq"], Decimal(repr(r["price"])), Decimal(repr(r["amount"])), r["direction"])
        + (r["timestamp"],)
        for r in body["result"]["trades"]
    ]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("venue", "symbol", "path"),
    [
        ("binance", "BTC-USDT", "/api/v3/aggTrades"),
        ("binance_futures", "BTC-USDT-PERP", "/fapi/v1/aggTrades"),
    ],
)
async def test_binance_agg_trades_are_the_ground_truth(venue: str, symbol: str, path: str) -> None:
    source = market(symbol)
    trades = source.trades(symbol)
    assert len(trades) > 800
    native = parser(venue).to_native(symbol)
    async with SimulatedExchange(venue, source, clock=frozen) as sim:
        url = sim.rest_url + path
        pages: list[Row] = []
        from_id = trades[5].trade_id
        while True:
            status, _, body = await get(url, symbol=native, fromId=from_id, limit=300)
            assert status == 200
            if not body:
                break
            pages += binance_rows(body)
            from_id = body[-1]["a"] + 1
        assert pages == truth(trades[5:])

        _, _, body = await get(url, symbol=native)
        assert binance_rows(body) == truth(trades[-500:])

        start, end = trades[100].timestamp, trades[400].timestamp
        _, _, body = await get(url, symbol=native, startTime=start, endTime=end, limit=1000)
        assert binance_rows(body) == truth(t for t in trades if start <= t.timestamp <= end)


@pytest.mark.asyncio
async def test_okx_history_pages_newest_first_by_trade_id() -> None:
    source = market("BTC-USDT")
    trades = source.trades("BTC-USDT")
    async with SimulatedExchange("okx", source, clock=frozen, rest_limit=1000) as sim:
        url = sim.rest_url + "/api/v5/market/history-trades"
        pages: list[Row] = []
        params: dict[str, Any] = {"instId": "BTC-USDT", "type": 1}
        while True:
            status, _, body = await get(url, **params)
            assert status == 200 and body["code"] == "0"
            if not body["data"]:
                break
            assert len(body["data"]) <= 100
            pages += okx_rows(body)
            params["after"] = body["data"][-1]["tradeId"]
        assert pages[::-1] == truth(trades)

        before = trades[10].trade_id
        _, _, body = await get(url, instId="BTC-USDT", before=before, limit=5)
        assert okx_rows(body) == truth(trades[11:16])[::-1]
        after = trades[50].trade_id
        _, _, body = await get(url, instId="BTC-USDT", after=after, before=before, limit=100)
        assert okx_rows(body) == truth(trades[11:50])[::-1]


@pytest.mark.asyncio
async def test_deribit_last_trades_by_sequence() -> None:
    source = market("BTC-USD-PERP")
    trades = source.trades("BTC-USD-PERP")
    async with SimulatedExchange("deribit", source, clock=frozen, rest_limit=1000) as sim:
        url = sim.rest_url + "/public/get_last_trades_by_instrument"
        pages: list[Row] = []
        start = trades[0].trade_id
        while True:
            status, _, body = await get(
                url, instrument_name="BTC-PERPETUAL", start_seq=start, count=400, sorting="asc"
            )
            assert status == 200 and body["testnet"] is False
            pages += deribit_rows(body)
            if not body["result"]["has_more"]:
                break
            start = pages[-1][0] + 1
        assert pages == truth(trades)

        first, last = trades[20].trade_id, trades[29].trade_id
        _, _, body = await get(url, instrument_name="BTC-PERPETUAL", start_seq=first, end_seq=last)
        assert deribit_rows(body) == truth(trades[20:30])[::-1]
        assert body["result"]["has_more"] is False


@pytest.mark.asyncio
async def test_polled_answers_parse() -> None:
    source = market("BTC-USDT-PERP")
    now = datetime.now(UTC)
    async with SimulatedExchange("binance_futures", source, clock=frozen) as sim:
        for path, kind in (
            ("/fapi/v1/openInterest", OpenInterest),
            ("/fapi/v1/premiumIndex", FundingRate),
        ):
            _, _, body = await get(sim.rest_url + path, symbol="BTCUSDT")
            [record] = parser("binance_futures").parse_rest(path, orjson.dumps(body), now)
            assert isinstance(record, kind)
    async with SimulatedExchange("okx", source, clock=frozen) as sim:
        for path, kind, extra in (
            ("/api/v5/public/open-interest", OpenInterest, {"instType": "SWAP"}),
            ("/api/v5/public/funding-rate", FundingRate, {}),
        ):
            _, _, body = await get(sim.rest_url + path, instId="BTC-USDT-SWAP", **extra)
            [record] = parser("okx").parse_rest(path, orjson.dumps(body), now)
            assert isinstance(record, kind)


@pytest.mark.asyncio
async def test_binance_weight_limit_answers_429_then_418() -> None:
    source = market("BTC-USDT")
    async with SimulatedExchange("binance", source, rest_limit=60, clock=frozen) as sim:
        url = sim.rest_url + "/api/v3/depth"
        used = []
        for limit in (100, 500, 5, 20):  # weights 5, 25, 5, 5
            status, headers, _ = await get(url, symbol="BTCUSDT", limit=limit)
            assert status == 200
            used.append(int(headers["X-MBX-USED-WEIGHT-1M"]))
        assert used == [5, 30, 35, 40]
        status, headers, body = await get(url, symbol="BTCUSDT", limit=1000)  # 50 more
        assert (status, body["code"], headers["Retry-After"]) == (429, -1003, "40")
        status, headers, body = await get(sim.rest_url + "/api/v3/ping")
        assert (status, body["code"], headers["Retry-After"]) == (418, -1003, "120")
        status, _, _ = await get(sim.rest_url + "/api/v3/time")
        assert status == 418
    assert sim.stats.rest_requests[("/api/v3/depth", 429)] == 1
    assert sim.stats.rest_requests[("/api/v3/depth", 200)] == 4


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("venue", "path", "params", "code"),
    [
        ("okx", "/api/v5/market/history-trades", {"instId": "BTC-USDT"}, "50011"),
        ("deribit", "/public/get_time", {}, 10028),
    ],
)
async def test_okx_and_deribit_limits_answer_429(
    venue: str, path: str, params: dict[str, str], code: object
) -> None:
    source = market("BTC-USDT", "BTC-USD-PERP")
    async with SimulatedExchange(venue, source, rest_limit=2, clock=frozen) as sim:
        statuses = [(await get(sim.rest_url + path, **params))[0] for _ in range(2)]
        status, _, body = await get(sim.rest_url + path, **params)
        assert statuses == [200, 200] and status == 429
        assert (body["code"] if venue == "okx" else body["error"]["code"]) == code
        if venue == "okx":  # each endpoint has its own budget
            other = await get(sim.rest_url + "/api/v5/public/time")
            assert other[0] == 200


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("venue", "path", "params", "status", "code"),
    [
        ("binance", "/api/v3/depth", {"symbol": "NOPEUSDT"}, 400, -1121),
        ("binance", "/api/v3/depth", {}, 400, -1102),
        ("binance", "/api/v3/aggTrades", {"symbol": "BTCUSDT", "limit": 5000}, 400, -1130),
        ("okx", "/api/v5/market/history-trades", {"instId": "NOPE-USDT"}, 400, "51001"),
        ("okx", "/api/v5/public/open-interest", {"instId": "BTC-USDT-SWAP"}, 400, "50014"),
        ("okx", "/api/v5/nothing", {}, 404, "404"),
        ("deribit", "/public/ticker", {"instrument_name": "NOPE"}, 400, -32602),
    ],
)
async def test_bad_requests_get_the_venue_error(
    venue: str, path: str, params: dict[str, Any], status: int, code: object
) -> None:
    source = market("BTC-USDT", "BTC-USDT-PERP", "BTC-USD-PERP")
    async with SimulatedExchange(venue, source) as sim:
        got, _, body = await get(sim.rest_url + path, **params)
    found: Callable[[Any], object] = {
        "binance": lambda b: b["code"],
        "okx": lambda b: b["code"],
        "deribit": lambda b: b["error"]["code"],
    }[venue]
    assert (got, found(body)) == (status, code)


@pytest.mark.asyncio
async def test_forced_rest_errors_from_python_and_from_the_control_endpoint() -> None:
    source = market("BTC-USDT")
    async with SimulatedExchange("okx", source) as sim:
        url = sim.rest_url + "/api/v5/public/time"
        sim.faults.rest_errors(429, count=2, retry_after=3)
        first, second, third = [await get(url) for _ in range(3)]
        assert [first[0], second[0], third[0]] == [429, 429, 200]
        assert first[1]["Retry-After"] == "3" and first[2]["code"] == "50011"

        status, body = await post(
            sim.control_url + "/fault", fault="rest_errors", status=503, count=1
        )
        assert status == 200 and body["fault"] == "rest_errors"
        assert (await get(url))[0] == 503
        assert (await get(url))[0] == 200
        status, _, stats = await get(sim.control_url + "/stats")
    assert status == 200
    counts = {(row["path"], row["status"]): row["count"] for row in stats["rest_requests"]}
    assert counts == {
        ("/api/v5/public/time", 429): 2,
        ("/api/v5/public/time", 200): 2,
        ("/api/v5/public/time", 503): 1,
    }
