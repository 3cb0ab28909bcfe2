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

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal
from functools import cache
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    Field,
    PlainSerializer,
    TypeAdapter,
    ValidationError,
)


def _finite(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite number")
    return value


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def decimal_text(value: Decimal) -> str:
    """Positional notation: "0.00000006" stays as the exchange wrote it, never "6E-8".

    The same text as ``format(value, "f")``: ``str`` differs from it only when it
    writes an exponent, and is three times faster (every record pays this).
    Anything but a Decimal is a ``TypeError`` (``models.codec`` hands this to
    orjson as its fallback for values it cannot write itself).
    """
    if not isinstance(value, Decimal):
        raise TypeError(f"{type(value).__name__} is not a Decimal")
    text = str(value)
    return text if "E" not in text else format(value, "f")


_AS_TEXT = PlainSerializer(decimal_text, return_type=str, when_used="json")

#: No real price, size or rate reaches 10^18; anything that does is corrupt input
#: (and price x size must stay inside the decimal context).
MAX_MAGNITUDE = Decimal("1e18")
#: The archive stores decimal128(38, 18); no venue quotes finer than 1e-18.
MAX_DECIMAL_PLACES = 18
_WIDE = Context(prec=60)
_QUANTUM = Decimal(1).scaleb(-MAX_DECIMAL_PLACES)


def exponent(value: Decimal) -> int | str:
    """``value.as_tuple().exponent`` (``-2`` for ``"1.50"``; ``"n"``, ``"N"`` or ``"F"``
    for NaN, sNaN and infinities), read off ``str`` when it has no exponent: 4x faster."""
    if value.is_finite():
        text = str(value)
        if "E" not in text:
            point = text.find(".")
            return 0 if point < 0 else point + 1 - len(text)
    return value.as_tuple().exponent


def fits_places(value: Decimal) -> bool:
    """True when ``value`` is finite with at most :data:`MAX_DECIMAL_PLACES` digits after
    the point (``exponent(value) >= -18``), read off ``str`` when it has no exponent."""
    text = str(value)
    if "E" not in text:  # nor is there one in "NaN", "sNaN" or "Infinity"
        point = text.find(".")
        if point < 0:
            return value.is_finite()
        return len(text) - point <= MAX_DECIMAL_PLACES + 1
    return value.as_tuple().exponent >= -MAX_DECIMAL_PLACES  # type: ignore[operator]  # finite


def exact_product(a: Decimal, b: Decimal) -> Decimal:
    """``a * b`` without the default context's 28-digit rounding; a product with
    more than 18 fractional digits is rounded half-even to 18 (derived values only)."""
    product = _WIDE.multiply(a, b)
    if fits_places(product) or not product.is_finite():
        return product
    return product.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN, context=_WIDE)


@dataclass(frozen=True)
class DecimalRule:
    """What one kind of exact number may be: its bounds, defined once.

    The rule makes the pydantic type's constraints (:meth:`field`: finite, the
    bounds, at most :data:`MAX_DECIMAL_PLACES` places) and is what the wire
    parsers check before building a record without re-validating it
    (:meth:`admit`). ``label`` names the rule in error messages.
    """

    label: str
    gt: Decimal | None = None
    ge: Decimal | None = None
    lt: Decimal = MAX_MAGNITUDE

    def field(self) -> Any:
        """The pydantic constraints of a field of this rule."""
        return Field(
            gt=self.gt,
            ge=self.ge,
            lt=self.lt,
            allow_inf_nan=False,
            decimal_places=MAX_DECIMAL_PLACES,
        )

    def admit(self, value: Decimal) -> Decimal:
        """``value`` as a field of this rule validates it; ``ValueError`` with pydantic's
        message otherwise.

        A finite value inside the bounds with at most :data:`MAX_DECIMAL_PLACES`
        digits after the point is admitted here; anything else is decided by the
        field type itself (pydantic also admits trailing zeros past 18 places).
        """
        if (
            fits_places(value)
            and value < self.lt
            and (self.gt is None or value > self.gt)
            and (self.ge is None or value >= self.ge)
        ):
            return value
        return _validate(self, value)


#: Strictly positive prices.
PRICE = DecimalRule("price", gt=Decimal(0))
#: Sizes, volumes and open interest: zero allowed (0 deletes a book level).
SIZE = DecimalRule("size", ge=Decimal(0))
#: A trade's or liquidation's quantity: a trade of zero is not a trade.
QUANTITY = DecimalRule("quantity", gt=Decimal(0))
#: Rates and changes that may be negative (funding, 24 h change).
SIGNED = DecimalRule("number", gt=-MAX_MAGNITUDE)

#: A strictly positive, finite exact price.
Price = Annotated[Decimal, PRICE.field(), AfterValidator(_finite), _AS_TEXT]
#: A non-negative, finite exact size (0 deletes a book level).
Size = Annotated[Decimal, SIZE.field(), AfterValidator(_finite), _AS_TEXT]
#: A strictly positive, finite exact size (a trade of zero is not a trade).
PositiveSize = Annotated[Decimal, QUANTITY.field(), AfterValidator(_finite), _AS_TEXT]
#: Any finite exact number (funding rates may be negative).
SignedDecimal = Annotated[Decimal, SIGNED.field(), AfterValidator(_finite), _AS_TEXT]
#: A timezone-aware timestamp, normalized to UTC. Naive datetimes are rejected.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]

#: The field type of each rule.
RULE_TYPES: dict[DecimalRule, Any] = {
    PRICE: Price,
    SIZE: Size,
    QUANTITY: PositiveSize,
    SIGNED: SignedDecimal,
}


@cache
def _adapter(rule: DecimalRule) -> TypeAdapter[Decimal]:
    return TypeAdapter(RULE_TYPES[rule])


def _validate(rule: DecimalRule, value: Decimal) -> Decimal:
    """The field type's own verdict, as a ``ValueError`` with pydantic's message."""
    try:
        return _adapter(rule).validate_python(value)
    except ValidationError as exc:
        raise ValueError(exc.errors(include_url=False)[0]["msg"]) from exc


#: Below 2^32 s (the year 2106) the float ``ms / 1000`` is within 0.24 us of the
#: exact time, so ``fromtimestamp`` rounds it to the exact millisecond.
_FLOAT_EXACT_MS = 2**32 * 1000


def utc_from_ms(ms: int | str) -> datetime:
    """Exchange epoch milliseconds -> aware UTC datetime (exact to the ms)."""
    ms_int = int(ms)
    if 0 <= ms_int < _FLOAT_EXACT_MS:
        return datetime.fromtimestamp(ms_int / 1000, UTC)  # 4x faster than below
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
