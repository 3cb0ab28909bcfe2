"""Exact numbers and UTC timestamps shared by every model.

Precision decision: prices and sizes are :class:`decimal.Decimal`.

Exchanges send prices and sizes as decimal strings ("61837.63000000",
"0.00000100"). A float64 holds about 15-17 significant digits and turns
"0.1" into 0.1000000000000000055...; summing float sizes drifts, and the
string can no longer be reproduced byte for byte. A Decimal built from the
string keeps the digits *and* the exponent, so ``str(Decimal(s)) == s`` and
the value travels through JSON (as a string in positional notation) unchanged. The cost (slower
arithmetic) is paid only in analytics, which convert to float64 on purpose
because statistics are approximate anyway.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field, PlainSerializer


def _finite(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite number")
    return value


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _plain(value: Decimal) -> str:
    """Positional notation: "0.00000006" stays as the exchange wrote it, never "6E-8"."""
    return format(value, "f")


_AS_TEXT = PlainSerializer(_plain, return_type=str, when_used="json")

#: No real price, size or rate reaches 10^18; anything that does is corrupt input
#: (and price x size must stay inside the decimal context).
MAX_MAGNITUDE = Decimal("1e18")
#: The archive stores decimal128(38, 18); no venue quotes finer than 1e-18.
MAX_DECIMAL_PLACES = 18
_WIDE = Context(prec=60)
_QUANTUM = Decimal(1).scaleb(-MAX_DECIMAL_PLACES)


def exact_product(a: Decimal, b: Decimal) -> Decimal:
    """``a * b`` without the default context's 28-digit rounding; a product with
    more than 18 fractional digits is rounded half-even to 18 (derived values only)."""
    product = _WIDE.multiply(a, b)
    exponent = product.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_DECIMAL_PLACES:
        product = product.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN, context=_WIDE)
    return product


#: A strictly positive, finite exact price.
Price = Annotated[
    Decimal,
    Field(gt=0, lt=MAX_MAGNITUDE, allow_inf_nan=False, decimal_places=MAX_DECIMAL_PLACES),
    AfterValidator(_finite),
    _AS_TEXT,
]
#: A non-negative, finite exact size (0 deletes a book level).
Size = Annotated[
    Decimal,
    Field(ge=0, lt=MAX_MAGNITUDE, allow_inf_nan=False, decimal_places=MAX_DECIMAL_PLACES),
    AfterValidator(_finite),
    _AS_TEXT,
]
#: A strictly positive, finite exact size (a trade of zero is not a trade).
PositiveSize = Annotated[
    Decimal,
    Field(gt=0, lt=MAX_MAGNITUDE, allow_inf_nan=False, decimal_places=MAX_DECIMAL_PLACES),
    AfterValidator(_finite),
    _AS_TEXT,
]
#: Any finite exact number (funding rates may be negative).
SignedDecimal = Annotated[
    Decimal,
    Field(
        gt=-MAX_MAGNITUDE, lt=MAX_MAGNITUDE, allow_inf_nan=False, decimal_places=MAX_DECIMAL_PLACES
    ),
    AfterValidator(_finite),
    _AS_TEXT,
]
#: A timezone-aware timestamp, normalized to UTC. Naive datetimes are rejected.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


def utc_from_ms(ms: int | str) -> datetime:
    """Exchange epoch milliseconds -> aware UTC datetime (exact to the ms)."""
    ms_int = int(ms)
    seconds, millis = divmod(ms_int, 1000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=millis * 1000)


def utc_from_us(us: int | str) -> datetime:
    """Exchange epoch microseconds -> aware UTC datetime (exact)."""
    us_int = int(us)
    seconds, micros = divmod(us_int, 1_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=micros)


def utc_from_ns(ns: int | str) -> datetime:
    """Epoch nanoseconds -> aware UTC datetime (truncated to microseconds)."""
    return utc_from_us(int(ns) // 1000)


def epoch_ms(value: datetime) -> int:
    """Aware datetime -> epoch milliseconds (Kafka timestamps use these)."""
    delta = value - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
