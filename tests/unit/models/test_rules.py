"""The numeric rules are defined once: their fast checks agree with the pydantic field types.

``DecimalRule.admit`` (what the wire parsers use), ``decimal_text`` (what the
encoder writes), ``exponent``, ``fits_places``, ``exact_product`` and ``utc_from_ms`` took
shortcuts for speed; each is compared here with the slow definition it
replaces, on random values and on every number in the recordings.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from models.numbers import (
    MAX_DECIMAL_PLACES,
    PRICE,
    QUANTITY,
    RULE_TYPES,
    SIGNED,
    SIZE,
    DecimalRule,
    decimal_text,
    exact_product,
    exponent,
    fits_places,
    utc_from_ms,
)
from tests.shared_data import numeric_literals

CHECKS = settings(max_examples=400, deadline=None)
RULES = (PRICE, SIZE, QUANTITY, SIGNED)


def scientific(negative: bool, coefficient: int, power: int) -> Decimal:
    return Decimal(f"{'-' if negative else ''}{coefficient}E{power}")


#: Any Decimal: specials, every sign, 0 to 40 digits, exponents around the bounds.
any_decimal = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.builds(
        scientific,
        st.booleans(),
        st.integers(0, 10**40),
        st.integers(-2 * MAX_DECIMAL_PLACES - 8, 2 * MAX_DECIMAL_PLACES),
    ),
    st.sampled_from(
        [
            "NaN",
            "-NaN",
            "sNaN",
            "NaN12",
            "Infinity",
            "-Infinity",
            "-0",
            "0E-30",
            "0E+3",
            "1E+18",
            "-1E+18",
            "999999999999999999.999999999999999999",
            "0.1000000000000000000000",  # 22 places, 1 after normalizing
            "1.00000000000000000000000000001",  # past the 28-digit context
            "1E-18",
            "1E-19",
            "10E-19",
        ]
    ).map(Decimal),
)


ADAPTERS = {rule: TypeAdapter(annotated) for rule, annotated in RULE_TYPES.items()}


def field_verdict(rule: DecimalRule, value: Decimal) -> Decimal | str:
    """What a field of ``rule`` makes of ``value``: the value, or pydantic's message."""
    try:
        return ADAPTERS[rule].validate_python(value)
    except ValidationError as exc:
        return str(exc.errors(include_url=False)[0]["msg"])


def admit_verdict(rule: DecimalRule, value: Decimal) -> Decimal | str:
    try:
        return rule.admit(value)
    except ValueError as exc:
        return str(exc)


@CHECKS
@given(value=any_decimal)
def test_admit_agrees_with_the_field_type(value: Decimal) -> None:
    for rule in RULES:
        expected, got = field_verdict(rule, value), admit_verdict(rule, value)
        assert repr(got) == repr(expected), rule  # repr: the exponent must match too


def test_admit_agrees_with_the_field_type_on_every_recorded_number() -> None:
    quoted, bare = numeric_literals()
    numbers = {Decimal(s) for s in quoted} | {Decimal(repr(float(s))) for s in bare}
    assert len(numbers) > 50_000
    for value in numbers:
        for rule in RULES:
            assert repr(admit_verdict(rule, value)) == repr(field_verdict(rule, value))


@CHECKS
@given(value=any_decimal)
def test_decimal_text_is_positional_notation(value: Decimal) -> None:
    assert decimal_text(value) == format(value, "f")


def test_decimal_text_refuses_what_is_not_a_decimal() -> None:
    with pytest.raises(TypeError):
        decimal_text(1.5)  # type: ignore[arg-type]  # the point of the test


@CHECKS
@given(value=any_decimal)
def test_exponent_is_the_tuple_exponent(value: Decimal) -> None:
    assert exponent(value) == value.as_tuple().exponent


@CHECKS
@given(value=any_decimal)
def test_fits_places_is_a_finite_exponent_of_at_most_18_places(value: Decimal) -> None:
    power = value.as_tuple().exponent  # an int when finite, else "n", "N" or "F"
    assert fits_places(value) == (isinstance(power, int) and power >= -MAX_DECIMAL_PLACES)


def reference_product(a: Decimal, b: Decimal) -> Decimal:
    """``exact_product`` as it was written first (``as_tuple``), the definition."""
    wide = Context(prec=60)
    product = wide.multiply(a, b)
    power = product.as_tuple().exponent
    if isinstance(power, int) and power < -MAX_DECIMAL_PLACES:
        quantum = Decimal(1).scaleb(-MAX_DECIMAL_PLACES)
        product = product.quantize(quantum, rounding=ROUND_HALF_EVEN, context=wide)
    return product


bounded = st.builds(
    scientific, st.booleans(), st.integers(0, 10**18), st.integers(-MAX_DECIMAL_PLACES, 0)
)


@CHECKS
@given(a=bounded, b=bounded)
@example(a=Decimal("61837.63000000"), b=Decimal("0.02000000"))
@example(a=Decimal("1.0000000000"), b=Decimal("1.0000000000"))  # 20 places, all zeros
def test_exact_product_is_unchanged(a: Decimal, b: Decimal) -> None:
    assert repr(exact_product(a, b)) == repr(reference_product(a, b))


def product_or_error(product: Any, a: Decimal, b: Decimal) -> str:
    try:
        return repr(product(a, b))
    except ArithmeticError as exc:  # sNaN, or infinity times zero
        return type(exc).__name__


@CHECKS
@given(a=any_decimal, b=any_decimal)
def test_exact_product_of_any_decimals_is_unchanged(a: Decimal, b: Decimal) -> None:
    assert product_or_error(exact_product, a, b) == product_or_error(reference_product, a, b)


def reference_utc_from_ms(ms: int) -> datetime:
    seconds, millis = divmod(ms, 1000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=millis * 1000)


@settings(max_examples=2000, deadline=None)
@given(ms=st.integers(0, 2**32 * 1000 - 1) | st.integers(-(10**12), 10**14))
@example(ms=2**32 * 1000 - 1)
@example(ms=2**32 * 1000)
@example(ms=2**31 * 1000 + 999)
@example(ms=-1)
def test_utc_from_ms_is_exact(ms: int) -> None:
    got = utc_from_ms(ms)
    assert got == reference_utc_from_ms(ms)
    assert got.tzinfo is UTC
    assert utc_from_ms(str(ms)) == got


def test_utc_from_ms_every_millisecond_of_a_second_near_the_float_limit() -> None:
    for start in (2**32 * 1000 - 1000, 2**31 * 1000, 1_723_161_255_000):
        for ms in range(start, start + 1000):
            assert utc_from_ms(ms) == reference_utc_from_ms(ms)
