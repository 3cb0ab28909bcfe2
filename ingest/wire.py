"""Turning exchange wire values into exact, validated model values.

Exchanges send numbers as decimal strings (Binance, OKX) or JSON numbers
(Deribit). Strings go straight into :class:`~decimal.Decimal`; a JSON float
goes through its shortest ``repr`` (``0.001972`` stays ``0.001972``), never
through ``Decimal(float)``.

:func:`price`, :func:`size`, :func:`quantity` and :func:`signed` also check
the value against the model field's :class:`~models.numbers.DecimalRule`, so
records can be built with :meth:`~models.MarketEvent.trusted` (no second
validation). They remember the strings (and floats) they admitted: a price
or size seen before costs a dictionary lookup. Anything else is a
:class:`~models.exceptions.DecodeError` with a short reason, ready for a dead
letter.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from models import InstrumentType
from models.book import BookLevel
from models.exceptions import DecodeError
from models.numbers import PRICE, QUANTITY, SIGNED, SIZE, DecimalRule, UtcDatetime, utc_from_ms

#: Admitted wire values remembered per rule (the memo starts over when full).
MEMO_SIZE = 32768

#: Reads a wire number into a Decimal its rule admits.
Reader = Callable[[Any], Decimal]

_MEMOS: list[dict[Any, Any]] = []


def decimal(value: Any) -> Decimal:
    """A wire number (decimal string, JSON int or float) -> exact Decimal (unchecked)."""
    kind = type(value)
    try:
        if kind is str:
            return Decimal(value)
        if kind is float:
            return Decimal(repr(value))
        if kind is int:
            return Decimal(value)
    except InvalidOperation as exc:
        raise DecodeError(f"not a number: {value!r}") from exc
    raise DecodeError(f"not a number: {value!r}")


def _admitted(rule: DecimalRule, number: Decimal, value: Any) -> Decimal:
    try:
        return rule.admit(number)
    except ValueError as exc:
        raise DecodeError(f"invalid {rule.label} {value!r}: {exc}") from None


def reader(rule: DecimalRule) -> Reader:
    """A wire number -> exact Decimal that ``rule`` admits; ``DecodeError`` otherwise."""
    texts: dict[str, Decimal] = {}
    floats: dict[float, Decimal] = {}  # nonzero only: 0.0 == -0.0, but their Decimals differ
    _MEMOS.extend((texts, floats))

    admit = rule.admit

    def read(value: Any) -> Decimal:
        kind = type(value)
        if kind is str:  # the venues' usual form, inline: decimal() and _admitted()
            known = texts.get(value)
            if known is None:
                try:
                    number = Decimal(value)
                except InvalidOperation as exc:
                    raise DecodeError(f"not a number: {value!r}") from exc
                try:
                    known = admit(number)
                except ValueError as exc:
                    raise DecodeError(f"invalid {rule.label} {value!r}: {exc}") from None
                if len(texts) >= MEMO_SIZE:
                    texts.clear()
                texts[value] = known
            return known
        if kind is float:
            known = floats.get(value)
            if known is not None:
                return known
        number = _admitted(rule, decimal(value), value)
        if kind is float and value:
            if len(floats) >= MEMO_SIZE:
                floats.clear()
            floats[value] = number
        return number

    read.__doc__ = f"A wire number -> an exact Decimal that a {rule.label} field admits."
    return read


price = reader(PRICE)
size = reader(SIZE)
quantity = reader(QUANTITY)
signed = reader(SIGNED)


#: Event times by epoch millisecond: trades come in bursts stamped with the same one.
_TIMES: dict[int, datetime] = {}
_MEMOS.append(_TIMES)
TIME_MEMO_SIZE = 4096


def ms_time(value: Any) -> datetime:
    """:func:`~models.numbers.utc_from_ms`, remembering the times of int values."""
    if type(value) is not int:
        return utc_from_ms(value)
    known = _TIMES.get(value)
    if known is None:
        if len(_TIMES) >= TIME_MEMO_SIZE:
            _TIMES.clear()
        known = _TIMES[value] = utc_from_ms(value)
    return known


def forget() -> None:
    """Empty every memo (a benchmark run then starts as cold as a new process)."""
    for memo in _MEMOS:
        memo.clear()


def optional(read: Reader, value: Any) -> Decimal | None:
    """``read(value)``, with ``None`` and ``""`` (the venues' "no value") as None."""
    if value is None or value == "":
        return None
    return read(value)


def optional_decimal(value: Any) -> Decimal | None:
    """:func:`decimal`, with ``None`` and ``""`` (the venues' "no value") as None."""
    if value is None or value == "":
        return None
    return decimal(value)


def positive_or_none(value: Any) -> Decimal | None:
    """:func:`price`, where the venue writes 0 for "none" (Deribit's empty book side)."""
    number = optional_decimal(value)
    return _admitted(PRICE, number, value) if number else None


def integer(value: Any) -> int:
    """A wire id or epoch time (JSON int or digit string) -> int; bools and floats refused."""
    kind = type(value)
    if kind is int:
        return int(value)
    if kind is str and (value.isdigit() or (value[:1] == "-" and value[1:].isdigit())):
        return int(value)
    raise DecodeError(f"not an integer: {value!r}")


def optional_integer(value: Any) -> int | None:
    return None if value is None or value == "" else integer(value)


def text(value: Any) -> str:
    """A non-empty wire string (a trade id)."""
    if type(value) is str and value:
        return value
    raise DecodeError(f"expected a non-empty string, not {value!r}")


def optional_text(value: Any) -> str | None:
    """A wire string or null (an order status)."""
    if value is None or type(value) is str:
        return value
    raise DecodeError(f"expected a string, not {value!r}")


def levels(rows: Any) -> list[tuple[Decimal, Decimal]]:
    """``[[price, size, ...], ...]`` -> ``[(price, size), ...]`` (extra columns ignored)."""
    return [(price(row[0]), size(row[1])) for row in rows]


class DepthSnapshot(BaseModel):
    """A full order book fetched over REST, for the book keeper (not a Kafka record).

    ``timestamp`` is the exchange's time when the answer carries one (Binance
    USD-M does, Binance spot does not); it is never filled from the receive
    time.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    exchange: str
    symbol: str
    native_symbol: str
    instrument_type: InstrumentType
    sequence: int = Field(description="last update id included (Binance lastUpdateId)")
    bids: list[BookLevel]
    asks: list[BookLevel]
    timestamp: UtcDatetime | None = None
    collected_at: UtcDatetime


def validation_reason(exc: ValidationError) -> str:
    """A short dead-letter reason naming the first failing fields."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False)[:3]:
        where = ".".join(str(item) for item in error["loc"]) or "record"
        parts.append(f"{where}: {error['msg']}")
    return f"invalid {exc.title}: " + "; ".join(parts)


def depth_snapshot_reason(exc: Exception) -> str:
    if isinstance(exc, DecodeError):
        return exc.reason
    if isinstance(exc, ValidationError):
        return validation_reason(exc)
    return f"malformed depth snapshot ({type(exc).__name__}: {exc})"
