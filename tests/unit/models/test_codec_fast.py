"""``encode`` writes every record byte for byte as pydantic's ``model_dump_json`` does.

Most record types are written by orjson from ``__dict__`` (``ORJSON_MODELS``);
these tests compare that with pydantic's serializer on every record type, on
random records and on everything the recordings normalize to.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ingest.recording import read_recording
from ingest.registry import venue_for_recording, venue_for_url
from models import (
    DeadLetter,
    GapEvent,
    InstrumentType,
    MarketEvent,
    PriceAlert,
    Record,
    Ticker,
    Trade,
    WindowStats,
    encode,
)
from models.codec import ORJSON_MODELS, RECORD_TYPES, writes_plain
from tests.shared_data import data_files
from tests.unit.models.samples import every_model
from tests.unit.models.test_trusted import cases

CHECKS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = datetime(2024, 8, 9, 0, 0, 1, 343_000, tzinfo=UTC)


def pydantic_json(record: Record) -> bytes:
    return record.__pydantic_serializer__.to_json(record)


def test_plain_models_are_written_by_orjson() -> None:
    assert ORJSON_MODELS == set(RECORD_TYPES.values()) - {WindowStats, PriceAlert}
    assert not writes_plain(WindowStats)  # floats: left to pydantic
    assert not writes_plain(PriceAlert)  # floats and nested models


def test_every_sample_record_is_written_as_pydantic_writes_it() -> None:
    for record in every_model().values():
        assert encode(record) == pydantic_json(record) == record.model_dump_json().encode()


@CHECKS
@given(case=cases())
def test_random_market_events_are_written_as_pydantic_writes_them(case: Any) -> None:
    cls, source, (timestamp, collected_at), fields = case
    try:
        record: MarketEvent = cls(
            **source.fields, timestamp=timestamp, collected_at=collected_at, **fields
        )
    except ValidationError:
        return
    assert encode(record) == pydantic_json(record)


text = st.text(st.characters(codec="utf-8"), max_size=30)


@CHECKS
@given(
    reason=text.filter(bool),
    raw=st.binary(max_size=40) | text,
    channel=st.none() | text,
    key=st.none() | text,
    offset=st.none() | st.integers(0, 2**70),
    at=st.datetimes(timezones=st.just(UTC)),
)
def test_dead_letters_and_gaps_are_written_as_pydantic_writes_them(
    reason: str,
    raw: bytes | str,
    channel: str | None,
    key: str | None,
    offset: int | None,
    at: datetime,
) -> None:
    dead = DeadLetter.of(
        raw, source="ingest:okx", reason=reason, at=at, channel=channel, key=key, offset=offset
    )
    assert encode(dead) == pydantic_json(dead)
    gap = GapEvent(
        exchange="okx",
        symbol="BTC-USDT",
        channel=reason,
        cause=reason,
        from_sequence=offset,
        timestamp=at,
    )
    assert encode(gap) == pydantic_json(gap)


def test_what_orjson_cannot_write_is_left_to_pydantic() -> None:
    trade = Trade(
        exchange="binance",
        symbol="BTC-USDT",
        native_symbol="BTCUSDT",
        instrument_type=InstrumentType.SPOT,
        timestamp=NOW,
        collected_at=NOW,
        trade_id="1",
        price=Decimal("1E+5"),
        quantity=Decimal("1E-7"),
        side="buy",
        sequence=2**80,  # beyond orjson's 64-bit integers
    )
    assert encode(trade) == pydantic_json(trade)
    assert b'"price":"100000","quantity":"0.0000001"' in encode(trade)
    lone_surrogate = DeadLetter.of("\ud800", source="test", reason="bad", at=NOW)
    with pytest.raises(ValueError, match="surrogates"):  # as pydantic itself refuses
        encode(lone_surrogate)


def test_decimals_keep_their_digits() -> None:
    ticker = Ticker(
        exchange="okx",
        symbol="BTC-USDT",
        native_symbol="BTC-USDT",
        instrument_type=InstrumentType.SPOT,
        timestamp=NOW,
        collected_at=NOW + timedelta(microseconds=1),
        last_price=Decimal("0.00000006"),
        bid_price=Decimal("61837.63000000"),
        ask_price=Decimal("1E+3"),
        bid_size=Decimal("0E-8"),
        price_change_pct_24h=Decimal("-0.000"),
    )
    assert encode(ticker) == pydantic_json(ticker)
    assert b'"last_price":"0.00000006"' in encode(ticker)
    assert b'"bid_size":"0.00000000"' in encode(ticker)


def test_every_recorded_record_is_written_as_pydantic_writes_it() -> None:
    compared = 0
    for path in data_files():
        venues: dict[type, Any] = {}
        for n, message in enumerate(read_recording(path)):
            kind = venue_for_url(message.source) or venue_for_recording(path)
            if kind is None or message.direction != "received" or n > 20_000:
                continue
            venue = venues.setdefault(kind, kind(max_clock_skew=None))
            for record in venue.parse(message.text, message.received_at):
                assert encode(record) == pydantic_json(record)
                compared += 1
    assert compared > 20_000
