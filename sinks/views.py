"""DuckDB view definitions over the Parquet tree, for PriceStore and the plain ``duckdb`` client.

Each data type becomes one view named after its directory (``trades``,
``tickers``, ``books``, ``funding``, ...). Views read
``<root>/<view>/**/*.parquet`` with hive partitioning and fixed partition
types, so filters on ``exchange``, ``symbol``, ``date`` and ``hour`` skip whole
files. A data type with no file yet gets an empty view with the same columns
(a glob with no match would fail); re-create the views once files exist.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from sinks.durable_file import make_dirs, publish, temp_path
from sinks.layout import glob_pattern
from sinks.schemas import SPECS, TableSpec

VIEWS_FILE = "views.sql"
_HIVE_TYPES = {"exchange": "VARCHAR", "symbol": "VARCHAR", "date": "DATE", "hour": "INTEGER"}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _has_files(root: Path, spec: TableSpec) -> bool:
    return any(True for _ in (root / spec.directory).glob("**/*.parquet"))


def _empty_select(spec: TableSpec) -> str:
    """A typed zero-row SELECT with the columns the files would give."""
    con = duckdb.connect(":memory:")
    try:
        relation = con.from_arrow(spec.schema.empty_table())
        columns = [
            f"CAST(NULL AS {kind}) AS {name}"
            for name, kind in zip(relation.columns, relation.types, strict=True)
        ]
    finally:
        con.close()
    hive = ["date", "hour"]
    columns += [f"CAST(NULL AS {_HIVE_TYPES[name]}) AS {name}" for name in hive]
    return "SELECT " + ", ".join(columns) + " WHERE false"


def view_sql(root: Path, spec: TableSpec) -> str:
    """``CREATE OR REPLACE VIEW`` for one data type under ``root`` (an absolute path)."""
    if not _has_files(root, spec):
        body = _empty_select(spec)
    else:
        hive_types = ", ".join(f"{_quote(k)}: {v}" for k, v in _HIVE_TYPES.items())
        if not spec.by_symbol:
            hive_types = ", ".join(f"{_quote(k)}: {_HIVE_TYPES[k]}" for k in ("date", "hour"))
        source = _quote(glob_pattern(root, spec))
        options = f"hive_partitioning = true, hive_types = {{{hive_types}}}"
        body = f"SELECT * FROM read_parquet({source}, {options})"  # noqa: S608 - quoted path
    return f"CREATE OR REPLACE VIEW {spec.directory} AS {body};"


def views_sql(root: Path) -> str:
    """Every view, as one script."""
    root = root.resolve()
    lines = [f"-- MarketPrism views over {root} (generated; re-generate when data types appear)"]
    lines += [view_sql(root, spec) for spec in SPECS.values()]
    return "\n".join(lines) + "\n"


def write_views_file(root: Path, path: Path | None = None) -> Path:
    """Write the views script (default ``<root>/views.sql``) for ``duckdb -init``."""
    target = path or root / VIEWS_FILE
    make_dirs(target.parent)
    temp = temp_path(target)
    temp.write_text(views_sql(root), encoding="utf-8")
    publish(temp, target)
    return target
