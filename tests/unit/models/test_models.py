from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from models import (
    BookSnapshot,
    DeadLetter,
    DecodeError,
    Record,
    Side,
    Ticker,
    Trade,
    decode,
    decode_any,
    encode,
)
from tests.unit.models.samples import RECV, T0, every_model, spot


@pytest.mark.parametrize("data_type", sorted(every_model()))
def test_every_model_roundtrips_through_the_codec(data_type: str) -> None:
    record = every_model()[data_type]
    wire = encode(record)
    assert decode(wire, type(record)) == record
    assert decode_any(wire) == record
    assert type(decode_any(wire)) is type(record)


def test_alert_keeps_the_seed_fields() -> None:
    alert = every_model()["alerts"].model_dump(mode="json")
    for name in (
        "symbol",
        "timestamp",
        "severity",
        "z_score",
        "price_change_pct",
        "confidence",
        "reasons",
    ):
        assert name in alert
    assert alert["severity"] == "high"
    assert alert["reasons"] == ["Z-score: 3.50", "Price change: 5.20%"]


def test_trade_has_the_seed_fields_and_derives_quote_quantity() -> None:
    trade = every_model()["trades"]
    assert isinstance(trade, Trade)
    assert trade.quote_quantity == Decimal("61837.63000000") * Decimal("0.02000000")
    assert trade.is_buyer_maker is True
    assert trade.collected_at == RECV and trade.timestamp == T0
    assert trade.key == "binance:BTC-USDT"


def test_timestamps_are_utc_and_naive_is_rejected() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        Trade(
            **spot(
                timestamp=datetime(2024, 1, 1),  # noqa: DTZ001 - naive on purpose
                trade_id="1",
                price="1",
                quantity="1",
                side="buy",
            )
        )
    trade = Trade.model_validate_json(
        encode(every_model()["trades"]).replace(
            b'"2024-08-09T00:00:01.343000Z"', b'"2024-08-09T02:00:01.343+02:00"'
        )
    )
    assert trade.timestamp == T0 and trade.timestamp.utcoffset() is not None
    assert trade.timestamp.tzinfo is not None and trade.timestamp.utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price", "0"),
        ("price", "-1"),
        ("price", "NaN"),
        ("price", "Infinity"),
        ("quantity", "0"),
        ("quantity", "1e999999999"),
    ],
)
def test_trade_rejects_bad_numbers(field: str, value: str) -> None:
    data = spot(trade_id="1", price="10", quantity="1", side="buy")
    data[field] = value
    with pytest.raises(ValidationError):
        Trade(**data)


def test_side_and_maker_flag_must_agree() -> None:
    with pytest.raises(ValidationError, match="is_buyer_maker"):
        Trade(**spot(trade_id="1", price="10", quantity="1", side=Side.BUY, is_buyer_maker=True))


def test_symbol_must_match_instrument_type() -> None:
    with pytest.raises(ValidationError, match="perpetual symbol"):
        Trade(**spot(symbol="BTC-USDT-PERP", trade_id="1", price="1", quantity="1", side="buy"))


def test_ticker_needs_a_price() -> None:
    with pytest.raises(ValidationError, match="best bid and ask"):
        Ticker(**spot(bid_price="1"))


def test_snapshot_levels_must_be_ordered() -> None:
    with pytest.raises(ValidationError, match="descending"):
        BookSnapshot(**spot(bids=[("1", "1"), ("2", "1")], asks=[], depth=5))


def test_unknown_fields_are_rejected() -> None:
    wire = encode(every_model()["trades"]).replace(b'"type":"trade"', b'"type":"trade","x":1')
    with pytest.raises(DecodeError, match="x: Extra inputs"):
        decode(wire, Trade)


def test_decode_errors_carry_a_reason() -> None:
    with pytest.raises(DecodeError, match="Invalid JSON"):
        decode_any(b"{not json")
    with pytest.raises(DecodeError, match="type"):
        decode_any(b'{"type": "nope"}')


def test_dead_letter_keeps_binary_payload_exactly() -> None:
    letter = every_model()["dead_letters"]
    assert isinstance(letter, DeadLetter)
    assert letter.raw_encoding == "base64"
    assert decode(encode(letter), DeadLetter).payload() == b"\xff\xfe not json"
    text = DeadLetter.of(b'{"a": 1}', source="t", reason="r", at=RECV)
    assert text.raw == '{"a": 1}' and text.payload() == b'{"a": 1}'


def test_records_are_immutable() -> None:
    record: Record = every_model()["trades"]
    with pytest.raises(ValidationError):
        record.exchange = "okx"  # type: ignore[misc]
