"""Query results as text: an aligned table, CSV with a header row, or JSON lines.

Exact decimals are written in positional notation without the storage's
trailing zeros (``61837.630000000000000000`` -> ``61837.63``); in JSON they are
strings, as in the Kafka codec, so no reader turns them into floats.
Timestamps are ISO 8601 with their offset. Nulls are empty cells (table, CSV)
or ``null`` (JSON); lists and structs (book levels, alert findings) are JSON
text in table and CSV cells.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TextIO

import orjson

if TYPE_CHECKING:
    import pyarrow as pa

FORMATS = ("table", "csv", "json")


def write_result(table: pa.Table, fmt: str, out: TextIO) -> None:
    """Write ``table`` to ``out`` in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "table":
        _write_table(table, out)
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(table.column_names)
        writer.writerows([_cell(value) for value in row] for row in _rows(table))
    elif fmt == "json":
        names = table.column_names
        for row in _rows(table):
            record = dict(zip(names, row, strict=True))
            out.write(orjson.dumps(record, default=_json_default).decode() + "\n")
    else:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def decimal_plain(value: Decimal) -> str:
    """Positional notation, no trailing fractional zeros: exact and short."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _rows(table: pa.Table) -> Iterator[tuple[Any, ...]]:
    for batch in table.to_batches():
        columns = [column.to_pylist() for column in batch.columns]
        yield from zip(*columns, strict=True)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return decimal_plain(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | dict):
        return orjson.dumps(value, default=_json_default).decode()
    return str(value)


def _json_default(value: Any) -> Any:
    """What orjson cannot write itself (NaN and infinities it writes as null)."""
    if isinstance(value, Decimal):
        return decimal_plain(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _is_number(kind: pa.DataType) -> bool:
    import pyarrow as pa

    types = pa.types
    return bool(types.is_integer(kind) or types.is_floating(kind) or types.is_decimal(kind))


def _write_table(table: pa.Table, out: TextIO) -> None:
    """Columns padded to their widest cell, numbers right-aligned, then ``(N rows)``."""
    names = table.column_names
    cells = [[_cell(value) for value in row] for row in _rows(table)]
    widths = [max([len(name)] + [len(row[i]) for row in cells]) for i, name in enumerate(names)]
    right = [_is_number(field.type) for field in table.schema]

    def line(values: list[str]) -> str:
        padded = [
            value.rjust(width) if numeric else value.ljust(width)
            for value, width, numeric in zip(values, widths, right, strict=True)
        ]
        return "  ".join(padded).rstrip()

    out.write(line(names) + "\n")
    out.write("  ".join("-" * width for width in widths) + "\n")
    for row in cells:
        out.write(line(row) + "\n")
    count = table.num_rows
    out.write(f"({count} row{'' if count == 1 else 's'})\n")
