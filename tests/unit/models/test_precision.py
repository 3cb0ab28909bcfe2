"""Every price and size string in the recorded data survives the model + codec exactly."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from models import BookDelta, InstrumentType, Ticker, decode, encode
from tests.shared_data import numeric_literals

NOW = datetime(2024, 8, 9, tzinfo=UTC)


def _roundtrip_levels(literals: list[str]) -> list[Decimal]:
    """Send literals as book levels (price and size) through encode/decode."""
    out: list[Decimal] = []
    for start in range(0, len(literals), 2000):
        chunk = literals[start : start + 2000]
        delta = BookDelta(
            exchange="binance",
            symbol="BTC-USDT",
            native_symbol="BTCUSDT",
            instrument_type=InstrumentType.SPOT,
            timestamp=NOW,
            collected_at=NOW,
            bids=[(Decimal(s), Decimal(s)) for s in chunk],
            asks=[],
        )
        back = decode(encode(delta), BookDelta)
        out.extend(price for price, size in back.bids)
        assert [size for _, size in back.bids] == [price for price, _ in back.bids]
    return out


def test_every_recorded_price_and_size_roundtrips_exactly() -> None:
    quoted, bare = numeric_literals()
    literals = sorted(quoted | bare)
    assert len(literals) > 50_000  # the recordings really were read
    positive = [s for s in literals if Decimal(s) > 0]
    back = _roundtrip_levels(positive)
    assert all(d == Decimal(s) for d, s in zip(back, positive, strict=True))
    # The JSON on the topic carries the exchange's own strings, trailing zeros included.
    wire = {format(d, "f") for d in back}
    plain = {s for s in quoted if "e" not in s.lower() and Decimal(s) > 0}
    assert plain <= wire


def test_zero_and_negative_values_roundtrip() -> None:
    quoted, bare = numeric_literals()
    for literal in sorted(s for s in quoted | bare if Decimal(s) <= 0):
        ticker = Ticker(
            exchange="okx",
            symbol="BTC-USDT",
            native_symbol="BTC-USDT",
            instrument_type=InstrumentType.SPOT,
            timestamp=NOW,
            collected_at=NOW,
            last_price=Decimal("1"),
            price_change_pct_24h=Decimal(literal),
            volume_24h=abs(Decimal(literal)),
        )
        back = decode(encode(ticker), Ticker)
        assert back.price_change_pct_24h == Decimal(literal)
        assert format(back.price_change_pct_24h, "f") == format(Decimal(literal), "f")


def test_float64_would_not_be_exact() -> None:
    """The evidence for the decision: float64 loses what Decimal keeps."""
    assert Decimal(0.1) != Decimal("0.1")
    assert float(Decimal("61837.63000000")) == 61837.63
    assert repr(float("61837.63000000")) != "61837.63000000"  # the exchange's string is gone
    big = "123456789012345678.12345678"
    assert Decimal(repr(float(big))) != Decimal(big)
    delta = BookDelta(
        exchange="binance",
        symbol="BTC-USDT",
        native_symbol="BTCUSDT",
        instrument_type=InstrumentType.SPOT,
        timestamp=NOW,
        collected_at=NOW,
        bids=[(Decimal(big), Decimal("0.00000001"))],
        asks=[],
    )
    assert decode(encode(delta), BookDelta).bids[0] == (Decimal(big), Decimal("0.00000001"))
