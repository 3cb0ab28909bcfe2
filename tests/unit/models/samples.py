"""One valid instance of every public model, shared by unit and integration tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from models import (
    AlertFinding,
    BookDelta,
    BookSnapshot,
    DeadLetter,
    FundingRate,
    GapEvent,
    InstrumentType,
    Liquidation,
    OpenInterest,
    PriceAlert,
    Record,
    Severity,
    Side,
    Ticker,
    Trade,
    WindowStats,
)

T0 = datetime(2024, 8, 9, 0, 0, 1, 343_000, tzinfo=UTC)
RECV = T0 + timedelta(microseconds=2_451)
D = Decimal


def spot(**extra: object) -> dict[str, object]:
    return {
        "exchange": "binance",
        "symbol": "BTC-USDT",
        "native_symbol": "BTCUSDT",
        "instrument_type": InstrumentType.SPOT,
        "timestamp": T0,
        "collected_at": RECV,
        **extra,
    }


def perp(**extra: object) -> dict[str, object]:
    return {
        "exchange": "okx",
        "symbol": "BTC-USDT-PERP",
        "native_symbol": "BTC-USDT-SWAP",
        "instrument_type": InstrumentType.PERPETUAL,
        "timestamp": T0,
        "collected_at": RECV,
        **extra,
    }


def every_model() -> dict[str, Record]:
    """data type (as in app.topics.TOPIC_MODELS) -> a sample record."""
    return {
        "trades": Trade(
            **spot(
                trade_id="3735683259",
                price=D("61837.63000000"),
                quantity=D("0.02000000"),
                side=Side.SELL,
                sequence=3735683259,
            )
        ),
        "tickers": Ticker(
            **spot(
                bid_price=D("61837.63"),
                bid_size=D("3.78826"),
                ask_price=D("61837.64"),
                ask_size=D("1.54698"),
                last_price=D("61837.63"),
                high_24h=D("62000"),
                low_24h=D("54000"),
                volume_24h=D("41234.5"),
                price_change_pct_24h=D("-1.25"),
                sequence=50093239212,
            )
        ),
        "book_snapshots": BookSnapshot(
            **spot(
                bids=[(D("61837.63"), D("3.78826")), (D("61837.00"), D("0.1"))],
                asks=[(D("61837.64"), D("1.54698"))],
                sequence=50093239207,
                depth=20,
            )
        ),
        "book_deltas": BookDelta(
            **spot(
                bids=[(D("61737.63000000"), D("0.00000000"))],
                asks=[(D("61837.64"), D("1.54698"))],
                first_sequence=50093239189,
                sequence=50093239202,
                prev_sequence=50093239188,
            )
        ),
        "funding_rates": FundingRate(
            **perp(
                funding_rate=D("-0.00012345"),
                next_funding_time=T0 + timedelta(hours=8),
                mark_price=D("61840.1"),
                index_price=D("61838.2"),
                estimated_rate=D("0.0001"),
                interval_hours=8,
            )
        ),
        "open_interest": OpenInterest(
            **perp(open_interest=D("123456.7"), open_interest_value=D("7634567890.12"))
        ),
        "liquidations": Liquidation(
            **perp(
                side=Side.SELL,
                price=D("61000.5"),
                quantity=D("1.5"),
                trade_id="liq-1",
                order_status="FILLED",
            )
        ),
        "analytics": WindowStats(
            exchange="binance",
            symbol="BTC-USDT",
            timestamp=T0 + timedelta(minutes=1),
            window_start=T0,
            window_end=T0 + timedelta(minutes=1),
            window_kind="tumbling",
            window_seconds=60,
            step_seconds=60,
            trade_count=3,
            open=D("100"),
            high=D("102"),
            low=D("99.5"),
            close=D("101"),
            volume=D("3"),
            quote_volume=D("302.5"),
            buy_volume=D("2"),
            sell_volume=D("1"),
            vwap=100.8333,
            average_price=100.8333,
            min_price=99.5,
            max_price=102.0,
            std_dev=1.04,
            volatility=0.0123,
            last_price=D("101"),
        ),
        "alerts": PriceAlert(
            exchange="binance",
            symbol="BTC-USDT",
            alert_id="binance:BTC-USDT:1723161601343",
            timestamp=T0,
            severity=Severity.HIGH,
            z_score=3.5,
            price_change_pct=5.2,
            confidence=85.0,
            reasons=["Z-score: 3.50", "Price change: 5.20%"],
            price=65000.0,
            window_seconds=300,
            findings=[
                AlertFinding(detector="zscore", value=3.5, threshold=3.0, reason="Z-score: 3.50")
            ],
            flags=["after_gap"],
        ),
        "gaps": GapEvent(
            exchange="binance",
            symbol="BTC-USDT",
            channel="book",
            cause="sequence_gap",
            from_sequence=10,
            to_sequence=15,
            missing=4,
            resynced=True,
            timestamp=RECV,
        ),
        "dead_letters": DeadLetter.of(
            b"\xff\xfe not json",
            source="ingest:binance",
            reason="invalid JSON",
            at=RECV,
            exchange="binance",
            channel="trades",
        ),
    }
