"""Turning exchange wire values into exact model values.

Exchanges send numbers as decimal strings (Binance, OKX) or JSON numbers
(Deribit). Strings go straight into :class:`~decimal.Decimal`; a JSON float
goes through its shortest ``repr`` (``0.001972`` stays ``0.001972``), never
through ``Decimal(float)``. Anything else is a :class:`~models.exceptions.DecodeError`
with a short reason, ready for a dead letter.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from models import InstrumentType
from models.book import BookLevel
from models.exceptions import DecodeError
from models.numbers import UtcDatetime


def decimal(value: Any) -> Decimal:
    """A wire number (decimal string, JSON int or float) -> exact Decimal."""
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


def optional_decimal(value: Any) -> Decimal | None:
    """:func:`decimal`, with ``None`` and ``""`` (the venues' "no value") as None."""
    if value is None or value == "":
        return None
    return decimal(value)


def positive_or_none(value: Any) -> Decimal | None:
    """A price where the venue writes 0 for "none" (Deribit's empty book side)."""
    number = optional_decimal(value)
    return number if number else None


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


def levels(rows: Any) -> list[tuple[Decimal, Decimal]]:
    """``[[price, size, ...], ...]`` -> ``[(price, size), ...]`` (extra columns ignored)."""
    return [(decimal(row[0]), decimal(row[1])) for row in rows]


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
