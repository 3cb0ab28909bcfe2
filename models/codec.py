"""The one JSON codec for Kafka records.

``encode`` writes a record with pydantic-core's Rust serializer (decimals
as strings, timestamps as ISO 8601 UTC); ``decode`` parses straight into the
expected model with the Rust JSON parser, and ``decode_any`` picks the model
from the record's ``type`` field. Every decoding problem becomes a
:class:`~models.exceptions.DecodeError` with a short reason, ready for a
dead-letter record.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from pydantic import Field, TypeAdapter, ValidationError

from models.alert import PriceAlert
from models.analytics import WindowStats
from models.base import Record
from models.book import BookDelta, BookSnapshot
from models.derivatives import FundingRate, OpenInterest
from models.exceptions import DecodeError
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
    """Record -> compact UTF-8 JSON bytes."""
    return record.__pydantic_serializer__.to_json(record)


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
