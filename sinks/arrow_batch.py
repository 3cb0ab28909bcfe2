"""Records -> an Arrow table of their data type's schema, column by column.

Each column is built with one ``pa.array`` call over the attribute values of
the whole batch (no per-row dicts, no pandas), so converting is a handful of
C-level passes per column.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from operator import attrgetter
from typing import Any

import pyarrow as pa

from models import BookDelta, BookSnapshot, DeadLetter, PriceAlert, Record
from sinks.exceptions import PrecisionError
from sinks.schemas import DECIMAL, KAFKA_COLUMNS, TableSpec

#: Digits after the point that ``decimal128(38, 18)`` keeps.
SCALE = 18

_FIXED_WIDTH = {"decimal128": 16, "timestamp": 8, "int64": 8, "double": 8, "int32": 4}


def _findings(record: Record) -> list[dict[str, Any]]:
    if not isinstance(record, PriceAlert):
        raise TypeError(f"expected a PriceAlert, got {type(record).__name__}")
    return [finding.model_dump() for finding in record.findings]


#: Columns whose value is not simply the attribute of the same name.
_EXTRACTORS: dict[str, Callable[[Record], Any]] = {"findings": _findings}


def to_table(
    spec: TableSpec, records: Sequence[Record], partitions: Sequence[int], offsets: Sequence[int]
) -> pa.Table:
    """Build the table for ``records``, which came from the given Kafka positions.

    Raises :class:`PrecisionError` naming the column and value when an exact
    number has more than 18 fractional digits (nothing is rounded).
    """
    if not len(records) == len(partitions) == len(offsets):
        raise ValueError("records, partitions and offsets must have the same length")
    arrays: list[pa.Array[Any]] = []
    for field in spec.schema:
        if field.name in KAFKA_COLUMNS:
            continue
        extract = _EXTRACTORS.get(field.name, attrgetter(field.name))
        values = [extract(record) for record in records]
        arrays.append(_array(spec, field, values))
    arrays.append(pa.array(partitions, pa.int32()))
    arrays.append(pa.array(offsets, pa.int64()))
    return pa.Table.from_arrays(arrays, schema=spec.schema)


def _array(spec: TableSpec, field: pa.Field[Any], values: list[Any]) -> pa.Array[Any]:
    try:
        array: pa.Array[Any] = pa.array(values, type=field.type)
        return array
    except pa.ArrowInvalid as exc:
        bad = _too_precise(values) if _has_decimals(field.type) else None
        if bad is None:
            raise
        raise PrecisionError(
            f"{spec.data_type}.{field.name}: {bad} has more than {SCALE} fractional digits "
            f"and cannot be stored exactly as decimal128(38, {SCALE})"
        ) from exc


def _has_decimals(kind: pa.DataType) -> bool:
    return kind == DECIMAL or str(DECIMAL) in str(kind)


def _too_precise(values: list[Any]) -> Decimal | None:
    """The first Decimal (also inside book levels) that needs more than 18 fractional digits."""
    stack = list(values)
    while stack:
        value = stack.pop(0)
        if isinstance(value, Decimal):
            exponent = value.normalize().as_tuple().exponent
            if isinstance(exponent, int) and exponent < -SCALE:
                return value
        elif isinstance(value, list | tuple):
            stack[:0] = list(value)
    return None


def estimate_row_bytes(spec: TableSpec, record: Record) -> int:
    """A cheap in-memory size estimate of one row, used for rolling by bytes."""
    size = _base_width(spec)
    if isinstance(record, BookSnapshot | BookDelta):
        size += 32 * (len(record.bids) + len(record.asks))
    elif isinstance(record, DeadLetter):
        size += len(record.raw)
    return size


_BASE_WIDTH: dict[str, int] = {}


def _base_width(spec: TableSpec) -> int:
    width = _BASE_WIDTH.get(spec.data_type)
    if width is None:
        width = sum(_FIXED_WIDTH.get(str(f.type).split("(")[0], 16) for f in spec.schema)
        _BASE_WIDTH[spec.data_type] = width
    return width
