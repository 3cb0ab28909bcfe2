"""The parsers' fast path gives exactly what full validation gives.

- ``ingest.wire``'s readers admit a wire number exactly when the model field
  type does, with the same value (random values and every recorded number),
  and ``ms_time`` is ``utc_from_ms``, remembered;
- every venue parses the same records with ``full_validation=True`` (each
  record validated by pydantic) as on its fast path (``MarketEvent.trusted``),
  on valid, mutated and random messages and on the recordings.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from ingest import wire
from ingest.recording import read_recording
from ingest.registry import VENUES, venue_for_recording, venue_for_url
from ingest.venue import Venue
from models import Record, encode
from models.exceptions import DecodeError
from models.numbers import PRICE, QUANTITY, RULE_TYPES, SIGNED, SIZE, DecimalRule, utc_from_ms
from tests.shared_data import data_files, numeric_literals
from tests.unit.ingest.test_fuzz import RECV, SAMPLES, json_values, paths, put

CHECKS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
READERS = {PRICE: wire.price, SIZE: wire.size, QUANTITY: wire.quantity, SIGNED: wire.signed}
ADAPTERS = {rule: TypeAdapter(annotated) for rule, annotated in RULE_TYPES.items()}


def expected_reading(rule: DecimalRule, value: Any) -> Decimal | str:
    """What converting ``value`` exactly, then validating it as a field, gives."""
    try:
        number = wire.decimal(value)
    except DecodeError as exc:
        return exc.reason
    try:
        return ADAPTERS[rule].validate_python(number)
    except ValidationError as exc:
        return f"invalid {rule.label} {value!r}: {exc.errors()[0]['msg']}"


def reading(rule: DecimalRule, value: Any) -> Decimal | str:
    try:
        return READERS[rule](value)
    except DecodeError as exc:
        return exc.reason


decimal_texts = st.decimals(allow_nan=True, allow_infinity=True).flatmap(
    lambda d: st.sampled_from([str(d), format(d, "f"), f" {d}", str(d).lower()])
)
wire_values = st.one_of(
    decimal_texts,
    st.from_regex(r"-?[0-9_]{0,25}(\.[0-9]{0,24})?([eE][-+]?[0-9]{1,3})?", fullmatch=True),
    st.floats(),
    st.integers(-(10**20), 10**20),
    st.sampled_from(["", "abc", "1e999", "-0", "0.000", True, None, [], {}]),
)


@CHECKS
@given(value=wire_values)
def test_readers_admit_what_the_field_types_admit(value: Any) -> None:
    for rule in READERS:
        expected = expected_reading(rule, value)
        assert repr(reading(rule, value)) == repr(expected)
        assert repr(reading(rule, value)) == repr(expected)  # again: from the memo


def test_readers_on_every_recorded_number() -> None:
    quoted, bare = numeric_literals()
    values: list[Any] = [*quoted, *(json.loads(s) for s in bare)]
    wire.forget()
    for value in values:
        for rule in READERS:
            assert repr(reading(rule, value)) == repr(expected_reading(rule, value))


def time_or_error(value: Any) -> object:
    try:
        return utc_from_ms(value)
    except Exception as exc:  # the error itself is what a dead letter's reason shows
        return f"{type(exc).__name__}: {exc}"


def remembered_time_or_error(value: Any) -> object:
    try:
        return wire.ms_time(value)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


@CHECKS
@given(
    value=st.integers(-(2**70), 2**70)
    | st.integers(0, 2**45)
    | st.floats()
    | st.text(max_size=14)
    | st.sampled_from([True, False, None, [], {}, "1723161255342", 1723161255342.0])
)
def test_ms_time_is_utc_from_ms(value: Any) -> None:
    expected = time_or_error(value)
    assert remembered_time_or_error(value) == expected
    assert remembered_time_or_error(value) == expected  # again: from the memo


def test_ms_time_remembers_int_times_only_until_forgotten() -> None:
    wire.forget()
    first = wire.ms_time(1723161255342)
    assert wire.ms_time(1723161255342) is first
    assert wire.ms_time("1723161255342") == first
    wire.forget()
    assert wire.ms_time(1723161255342) is not first


def both_ways(name: str, raw: bytes | str) -> tuple[list[Record], list[Record]]:
    fast = VENUES[name](max_clock_skew=None).parse(raw, RECV)
    full = VENUES[name](max_clock_skew=None, full_validation=True).parse(raw, RECV)
    return fast, full


def assert_same_records(fast: list[Record], full: list[Record]) -> None:
    assert fast == full
    assert [type(r) for r in fast] == [type(r) for r in full]
    assert [encode(r) for r in fast] == [encode(r) for r in full]
    assert [r.model_fields_set for r in fast] == [r.model_fields_set for r in full]


def test_samples_parse_alike() -> None:
    for name, message, _ in SAMPLES:
        fast, full = both_ways(name, json.dumps(message))
        assert_same_records(fast, full)


@CHECKS
@given(data=st.data(), sample=st.sampled_from(SAMPLES), value=json_values, delete=st.booleans())
def test_mutated_messages_parse_alike(
    data: st.DataObject, sample: Any, value: Any, delete: bool
) -> None:
    name, message, _ = sample
    path = data.draw(st.sampled_from(paths(message)))
    assert_same_records(*both_ways(name, json.dumps(put(message, path, value, delete=delete))))


@pytest.mark.parametrize("name", list(VENUES))
@CHECKS
@given(value=json_values)
def test_random_json_parses_alike(name: str, value: Any) -> None:
    assert_same_records(*both_ways(name, json.dumps(value)))


def test_recordings_parse_alike() -> None:
    compared = 0
    for path in data_files():
        venues: dict[type[Venue], tuple[Venue, Venue]] = {}
        for n, message in enumerate(read_recording(path)):
            kind = venue_for_url(message.source) or venue_for_recording(path)
            if kind is None or message.direction != "received" or n > 20_000:
                continue
            fast, full = venues.setdefault(
                kind, (kind(max_clock_skew=None), kind(max_clock_skew=None, full_validation=True))
            )
            records = fast.parse(message.text, message.received_at)
            assert_same_records(records, full.parse(message.text, message.received_at))
            compared += len(records)
    assert compared > 20_000
