"""``MarketEvent.trusted`` builds the very instance that validation builds.

Random valid field values (and random combinations of them, which may break
a model validator or miss a required field) go through both
``cls.trusted(source, ...)`` and ``cls(**...)``: the results must be
indistinguishable (type, ``__dict__`` and its order, fields set, equality,
hash, ``model_dump``, JSON, ``model_copy``, pickling, frozenness), or both
must fail with the same errors.
"""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from models import (
    BookDelta,
    BookSnapshot,
    FundingRate,
    InstrumentType,
    Liquidation,
    MarketEvent,
    OpenInterest,
    Side,
    Ticker,
    Trade,
)
from models.base import EventSource
from models.book import BookLevel
from models.codec import RECORD_TYPES, encode
from models.numbers import MAX_DECIMAL_PLACES, RULE_TYPES

CHECKS = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: (exchange, symbol, native, type): valid ones, and two that fail validation.
VALID_SOURCES = [
    ("binance", "BTC-USDT", "BTCUSDT", InstrumentType.SPOT),
    ("okx", "BTC-USD-20241227-60000-C", "BTC-USD-241227-60000-C", InstrumentType.OPTION),
    ("deribit", "ETH-USD-PERP", "ETH-PERPETUAL", InstrumentType.PERPETUAL),
]
INVALID_SOURCES = [
    ("binance", "BTC-USDT", "BTCUSDT", InstrumentType.PERPETUAL),  # type does not match
    ("binance", "btcusdt", "BTCUSDT", InstrumentType.SPOT),  # not a canonical symbol
]


def places_number(low: str, high: str) -> st.SearchStrategy[Decimal]:
    return st.integers(0, MAX_DECIMAL_PLACES).flatmap(
        lambda places: st.decimals(
            min_value=Decimal(low), max_value=Decimal(high), places=places, allow_nan=False
        )
    )


prices = places_number("0", "1e15").filter(lambda d: d > 0)
sizes = places_number("0", "1e15")
signed = places_number("-1e6", "1e6")
ints = st.none() | st.integers(-(2**70), 2**70)
times = st.datetimes(  # hypothesis takes naive bounds and adds the zones
    min_value=datetime(1971, 1, 1),  # noqa: DTZ001
    max_value=datetime(2200, 1, 1),  # noqa: DTZ001
    timezones=st.sampled_from([UTC, UTC, UTC, timezone(timedelta(hours=2))]),
)
levels = st.lists(st.tuples(prices, sizes), max_size=4)


def book_side(descending: bool) -> st.SearchStrategy[list[tuple[Decimal, Decimal]]]:
    """Levels a snapshot accepts (now and then not: any levels)."""
    ordered = st.lists(prices, max_size=4, unique=True).flatmap(
        lambda ps: st.tuples(
            *(st.tuples(st.just(p), sizes.filter(bool)) for p in sorted(ps, reverse=descending))
        ).map(list)
    )
    return ordered | ordered | levels


#: Valid values of every field, as the wire parsers would produce them; the
#: second dict holds the optional ones (hypothesis leaves some out).
FIELDS: dict[type[MarketEvent], tuple[dict[str, Any], dict[str, Any]]] = {
    Trade: (
        {
            "trade_id": st.text(min_size=1),
            "price": prices,
            "quantity": prices,
            "side": st.sampled_from(Side),
        },
        {"quote_quantity": prices, "is_buyer_maker": st.booleans(), "sequence": ints},
    ),
    Ticker: (
        {"last_price": st.none() | prices},
        {
            "bid_price": st.none() | prices,
            "bid_size": st.none() | sizes,
            "ask_price": st.none() | prices,
            "ask_size": st.none() | sizes,
            "high_24h": st.none() | prices,
            "volume_24h": st.none() | sizes,
            "price_change_pct_24h": st.none() | signed,
            "sequence": ints,
        },
    ),
    BookDelta: (
        {"bids": levels, "asks": levels},
        {"first_sequence": ints, "sequence": ints, "prev_sequence": ints, "checksum": ints},
    ),
    BookSnapshot: (
        {"bids": book_side(True), "asks": book_side(False), "depth": st.integers(1, 5)},
        {"sequence": ints, "checksum": ints},
    ),
    FundingRate: (
        {"funding_rate": signed},
        {
            "next_funding_time": st.none() | times,
            "mark_price": st.none() | prices,
            "estimated_rate": st.none() | signed,
            "interval_hours": st.none() | st.integers(1, 24),
        },
    ),
    OpenInterest: ({"open_interest": sizes}, {"open_interest_value": st.none() | sizes}),
    Liquidation: (
        {"side": st.sampled_from(Side), "price": prices, "quantity": prices},
        {"trade_id": st.none() | st.text(), "order_status": st.none() | st.text()},
    ),
}


def hash_or_error(record: MarketEvent) -> int | str:
    try:
        return hash(record)
    except TypeError as exc:
        return str(exc)


def assert_identical(got: MarketEvent, expected: MarketEvent) -> None:
    assert type(got) is type(expected)
    assert got == expected
    assert list(got.__dict__) == list(expected.__dict__)
    assert {k: (type(v), repr(v)) for k, v in got.__dict__.items()} == {
        k: (type(v), repr(v)) for k, v in expected.__dict__.items()
    }
    assert got.model_fields_set == expected.model_fields_set
    assert type(got.__pydantic_fields_set__) is set
    assert got.__pydantic_fields_set__ is not expected.__pydantic_fields_set__
    assert (got.__pydantic_extra__, got.__pydantic_private__) == (None, None)
    assert repr(got) == repr(expected)
    assert hash_or_error(got) == hash_or_error(expected)  # book lists are unhashable
    assert got.model_dump() == expected.model_dump()
    assert got.model_dump(exclude_unset=True) == expected.model_dump(exclude_unset=True)
    assert got.model_dump_json() == expected.model_dump_json()
    assert encode(got) == encode(expected) == expected.model_dump_json().encode()
    assert pickle.loads(pickle.dumps(got)) == expected  # noqa: S301  # our own bytes
    first = next(iter(got.model_fields_set - {"exchange", "symbol"}))
    copied, copied_expected = (
        r.model_copy(update={first: getattr(r, first)}) for r in (got, expected)
    )
    assert copied == copied_expected
    assert copied.model_fields_set == copied_expected.model_fields_set
    with pytest.raises(ValidationError):
        got.exchange = "okx"


def assert_same_outcome(
    cls: type[MarketEvent],
    source: EventSource,
    at: tuple[datetime, datetime],
    fields: dict[str, Any],
) -> None:
    try:
        expected = cls(**source.fields, timestamp=at[0], collected_at=at[1], **fields)
    except ValidationError as exc:
        with pytest.raises(ValidationError) as caught:
            cls.trusted(source, *at, **fields)
        assert str(caught.value) == str(exc)
        return
    assert_identical(cls.trusted(source, *at, **fields), expected)


@st.composite
def cases(draw: st.DrawFn) -> tuple[type[MarketEvent], EventSource, Any, dict[str, Any]]:
    cls = draw(st.sampled_from(list(FIELDS)))
    required, optional = FIELDS[cls]
    fields = draw(st.fixed_dictionaries(required, optional=optional))
    if draw(st.integers(0, 9)) == 0 and fields:  # now and then a required field is missing
        del fields[draw(st.sampled_from(sorted(fields)))]
    trusted = draw(st.integers(0, 4)) > 0
    exchange, symbol, native, kind = draw(
        st.sampled_from(VALID_SOURCES if trusted else VALID_SOURCES + INVALID_SOURCES)
    )
    source = EventSource(exchange, symbol, native, kind, trust=trusted)
    return cls, source, (draw(times), draw(times)), fields


@CHECKS
@given(case=cases())
def test_trusted_builds_what_validation_builds(
    case: tuple[type[MarketEvent], EventSource, Any, dict[str, Any]],
) -> None:
    assert_same_outcome(*case)


def test_every_market_event_type_is_covered() -> None:
    events = {model for model in RECORD_TYPES.values() if issubclass(model, MarketEvent)}
    assert events == set(FIELDS)


def test_a_source_is_validated_once_and_holds_validated_values() -> None:
    source = EventSource("binance", "BTC-USDT", "BTCUSDT", "spot")  # type: ignore[arg-type]
    assert source.trusted
    assert source.instrument_type is InstrumentType.SPOT  # the validated value
    assert not EventSource("binance", "BTC-USDT", "", InstrumentType.SPOT).trusted
    assert not EventSource(
        "binance", "BTC-USDT", "BTCUSDT", InstrumentType.SPOT, trust=False
    ).trusted


def test_an_untrusted_source_gets_full_validation() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    bad = EventSource("binance", "BTC-USDT", "BTCUSDT", InstrumentType.PERPETUAL)
    with pytest.raises(ValidationError, match="is a spot symbol"):
        Ticker.trusted(bad, now, now, last_price=Decimal(1))


def test_a_failing_model_validator_reads_as_pydantic_words_it() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    source = EventSource("binance", "BTC-USDT", "BTCUSDT", InstrumentType.SPOT)
    with pytest.raises(ValidationError, match="a ticker needs a best bid and ask"):
        Ticker.trusted(source, now, now, bid_price=Decimal(1))
    unordered = [(Decimal(1), Decimal(1)), (Decimal(2), Decimal(1))]
    with pytest.raises(ValidationError, match="bids must be strictly descending"):
        BookSnapshot.trusted(source, now, now, bids=unordered, asks=[], depth=5)
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Ticker.trusted(source, now, now, last_price=Decimal(1), colour="red")


def test_times_that_are_not_utc_are_converted_as_validation_does() -> None:
    source = EventSource("binance", "BTC-USDT", "BTCUSDT", InstrumentType.SPOT)
    paris = datetime(2024, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    ticker = Ticker.trusted(source, paris, paris, last_price=Decimal(1))
    assert ticker.timestamp == paris and ticker.timestamp.tzinfo is UTC
    with pytest.raises(ValidationError, match="timezone"):
        Ticker.trusted(source, datetime(2024, 1, 1), paris, last_price=Decimal(1))  # noqa: DTZ001


#: Field constraints that ``trusted`` does not check itself, beyond the decimal
#: rules (``ingest.wire``'s readers check those): the parsers guarantee these.
#: A new constraint on a market event fails this test until a parser enforces it.
CALLER_CHECKED = {
    ("Trade", "trade_id"): "[MinLen(min_length=1)]",  # ingest.wire.text
    ("BookSnapshot", "depth"): "[Ge(ge=1)]",  # max(len(bids), len(asks), 1)
    ("FundingRate", "interval_hours"): "[Ge(ge=1), Le(le=24)]",  # range-checked by the venue
}


def follows_a_rule(field: FieldInfo) -> bool:
    """A field typed with a decimal rule's type (or a list of book levels of them)."""
    if field.annotation == list[BookLevel]:
        return True
    for annotated in RULE_TYPES.values():
        if field.annotation == annotated | None:
            return True
        if (
            field.annotation is Decimal
            and field.metadata == FieldInfo.from_annotation(annotated).metadata
        ):
            return True
    return False


def test_every_constraint_the_trusted_path_skips_is_enforced_by_the_parsers() -> None:
    skipped = {
        (model.__name__, name): repr(field.metadata)
        for model in FIELDS
        for name, field in model.model_fields.items()
        if name not in MarketEvent.model_fields  # the source and times: validated before
        and not follows_a_rule(field)
        and field.metadata
    }
    assert skipped == CALLER_CHECKED
    loose = [
        (model.__name__, name)
        for model in FIELDS
        for name, field in model.model_fields.items()
        if "Decimal" in repr(field.annotation) and not follows_a_rule(field)
    ]
    assert loose == []  # every decimal field follows one of the rules
