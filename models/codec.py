"""The one JSON codec for Kafka records.

``encode`` writes a record as pydantic's serializer does (decimals as
positional strings, timestamps as ISO 8601 UTC); ``decode`` parses straight
into the expected model with the Rust JSON parser, and ``decode_any`` picks
the model from the record's ``type`` field. Every decoding problem becomes a
:class:`~models.exceptions.DecodeError` with a short reason, ready for a
dead-letter record.

Encoding is on every record's path, so a model whose fields are all plain
(strings, ints, bools, enums, UTC datetimes, decimals and lists of them) is
written by orjson from its ``__dict__``, byte for byte what
``model_dump_json`` writes and four times faster; the rest (floats, nested
models) goes through pydantic.
"""

from __future__ import annotations

import types
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import orjson
from pydantic import (
    AwareDatetime,
    Field,
    PlainSerializer,
    TypeAdapter,
    ValidationError,
    WrapSerializer,
)

from models.alert import PriceAlert
from models.analytics import WindowStats
from models.base import Record
from models.book import BookDelta, BookSnapshot
from models.derivatives import FundingRate, OpenInterest
from models.exceptions import DecodeError
from models.numbers import decimal_text
from models.pipeline_events import DeadLetter, GapEvent
from models.ticker import Ticker
from models.trade import Liquidation, Trade

R = TypeVar("R", bound=Record)

AnyRecord = Annotated[
    Trade
    | Ticker
    | BookSnapshot
    | BookDelta
    | FundingRate
    | OpenInterest
    | Liquidation
    | WindowStats
    | PriceAlert
    | GapEvent
    | DeadLetter,
    Field(discriminator="type"),
]

#: Validates any record, choosing the model by its ``type`` field.
ANY_RECORD: TypeAdapter[Record] = TypeAdapter(AnyRecord)

#: Every model that travels on a public topic, by its ``type`` tag.
RECORD_TYPES: dict[str, type[Record]] = {
    model.model_fields["type"].default: model
    for model in (
        Trade,
        Ticker,
        BookSnapshot,
        BookDelta,
        FundingRate,
        OpenInterest,
        Liquidation,
        WindowStats,
        PriceAlert,
        GapEvent,
        DeadLetter,
    )
}


def encode(record: Record) -> bytes:
    """Record -> compact UTF-8 JSON bytes (exactly ``record.model_dump_json()``)."""
    if type(record) in ORJSON_MODELS:
        try:
            # decimal_text is also the fields' PlainSerializer: the same text either way
            return orjson.dumps(record.__dict__, default=decimal_text, option=orjson.OPT_UTC_Z)
        except TypeError:
            pass  # e.g. an int beyond 64 bits: pydantic writes it (or raises its own error)
    return record.__pydantic_serializer__.to_json(record)


_PLAIN_TYPES = (str, int, bool, type(None), Decimal, datetime, AwareDatetime)


def _plain(annotation: Any) -> bool:
    """True when orjson writes values of ``annotation`` as pydantic does."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _plain(args[0]) and all(_plain_metadata(m) for m in args[1:])
    if origin in (Union, types.UnionType, list, tuple):
        return bool(args) and all(arg is Ellipsis or _plain(arg) for arg in args)
    if origin is Literal:
        return all(type(arg) is str for arg in args)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return issubclass(annotation, str)
    return annotation in _PLAIN_TYPES


def _plain_metadata(metadata: Any) -> bool:
    if isinstance(metadata, PlainSerializer):
        return metadata.func is decimal_text  # what encode gives orjson for Decimals
    return not isinstance(metadata, WrapSerializer)


def writes_plain(model: type[Record]) -> bool:
    """True when orjson writes ``model``'s ``__dict__`` exactly as pydantic's serializer."""
    decorators = model.__pydantic_decorators__
    return (
        not (decorators.field_serializers or decorators.model_serializers)
        and not model.model_computed_fields
        and all(
            not field.exclude
            and _plain(field.annotation)
            and all(_plain_metadata(m) for m in field.metadata)
            for field in model.model_fields.values()
        )
    )


#: The record types :func:`encode` writes with orjson.
ORJSON_MODELS = frozenset(model for model in RECORD_TYPES.values() if writes_plain(model))


def decode(data: bytes | str, model: type[R]) -> R:
    """JSON bytes -> ``model``; raise :class:`DecodeError` with the reason."""
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        raise DecodeError(_reason(exc)) from exc


def decode_any(data: bytes | str) -> Record:
    """JSON bytes -> whichever record its ``type`` field names."""
    try:
        return ANY_RECORD.validate_json(data)
    except ValidationError as exc:
        raise DecodeError(_reason(exc)) from exc


def _reason(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False, include_input=False)[:5]:
        where = ".".join(str(item) for item in error["loc"]) or "record"
        parts.append(f"{where}: {error['msg']}")
    more = exc.error_count() - len(parts)
    if more > 0:
        parts.append(f"and {more} more")
    return f"{exc.title}: " + "; ".join(parts)
