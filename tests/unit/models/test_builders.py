"""The one-step builders beside the models build what validation builds.

``checked_trade``, ``checked_quote`` and ``checked_delta`` are the parsers'
hot path for trades, best bid/ask tickers and sequenced book deltas. On the
same values they must give the very instance ``cls(**...)`` gives (``__dict__``
and its order, fields set, JSON, equality, pickling), and where they cannot
vouch for an input (an untrusted source, a time in another zone, no bid or
ask) fail exactly as validation fails.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from models import BookDelta, MarketEvent, Side, Ticker, Trade
from models.base import EventSource
from models.book import checked_delta
from models.ticker import checked_quote
from models.trade import checked_trade
from tests.unit.models.test_trusted import (
    CHECKS,
    INVALID_SOURCES,
    VALID_SOURCES,
    assert_identical,
    ints,
    levels,
    prices,
    sizes,
    times,
)


@st.composite
def sources(draw: st.DrawFn) -> EventSource:
    """Mostly trusted sources; now and then one that is untrusted or invalid."""
    trusted = draw(st.integers(0, 4)) > 0
    exchange, symbol, native, kind = draw(
        st.sampled_from(VALID_SOURCES if trusted else VALID_SOURCES + INVALID_SOURCES)
    )
    return EventSource(exchange, symbol, native, kind, trust=trusted)


def assert_builds_as_validation(
    cls: type[MarketEvent],
    built: Any,
    source: EventSource,
    at: tuple[datetime, datetime],
    fields: dict[str, Any],
) -> None:
    """``built(source, *at, *fields.values())`` against ``cls(**...)``: same record or error."""
    try:
        expected = cls(**source.fields, timestamp=at[0], collected_at=at[1], **fields)
    except ValidationError as exc:
        with pytest.raises(ValidationError) as caught:
            built(source, *at, *fields.values())
        assert str(caught.value) == str(exc)
        return
    assert_identical(built(source, *at, *fields.values()), expected)


@CHECKS
@given(
    source=sources(),
    at=st.tuples(times, times),
    trade_id=st.text(min_size=1),
    price=prices,
    quantity=prices,
    side=st.sampled_from(Side),
    sequence=ints,
)
def test_checked_trade_builds_what_validation_builds(
    source: EventSource,
    at: tuple[datetime, datetime],
    trade_id: str,
    price: Decimal,
    quantity: Decimal,
    side: Side,
    sequence: int | None,
) -> None:
    fields = {
        "trade_id": trade_id,
        "price": price,
        "quantity": quantity,
        "side": side,
        "sequence": sequence,
    }
    assert_builds_as_validation(Trade, checked_trade, source, at, fields)


@CHECKS
@given(
    source=sources(),
    at=st.tuples(times, times),
    bid_price=st.none() | prices,
    bid_size=sizes,
    ask_price=prices | st.none(),
    ask_size=sizes,
    sequence=ints,
)
def test_checked_quote_builds_what_validation_builds(
    source: EventSource,
    at: tuple[datetime, datetime],
    bid_price: Decimal | None,
    bid_size: Decimal,
    ask_price: Decimal | None,
    ask_size: Decimal,
    sequence: int | None,
) -> None:
    fields = {
        "bid_price": bid_price,
        "bid_size": bid_size,
        "ask_price": ask_price,
        "ask_size": ask_size,
        "sequence": sequence,
    }
    assert_builds_as_validation(Ticker, checked_quote, source, at, fields)


@CHECKS
@given(
    source=sources(),
    at=st.tuples(times, times),
    bids=levels,
    asks=levels,
    first_sequence=ints,
    sequence=ints,
    prev_sequence=ints,
)
def test_checked_delta_builds_what_validation_builds(
    source: EventSource,
    at: tuple[datetime, datetime],
    bids: list[tuple[Decimal, Decimal]],
    asks: list[tuple[Decimal, Decimal]],
    first_sequence: int | None,
    sequence: int | None,
    prev_sequence: int | None,
) -> None:
    fields = {
        "bids": bids,
        "asks": asks,
        "first_sequence": first_sequence,
        "sequence": sequence,
        "prev_sequence": prev_sequence,
    }
    assert_builds_as_validation(BookDelta, checked_delta, source, at, fields)


def test_a_trade_derives_its_quote_quantity_and_maker_flag() -> None:
    source = EventSource(*VALID_SOURCES[0])
    at = datetime.fromisoformat("2024-08-09T00:00:00.342+00:00")
    trade = checked_trade(
        source, at, at, "7", Decimal("61837.63"), Decimal("0.0000001"), Side.SELL, 7
    )
    assert trade.quote_quantity == Decimal("0.006183763")
    assert trade.is_buyer_maker is True
    assert trade.model_fields_set == {
        *MarketEvent.model_fields,
        "trade_id",
        "price",
        "quantity",
        "side",
        "sequence",
    }
