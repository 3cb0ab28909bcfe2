"""Merge the small files of closed hours into one ``compacted.parquet`` per hour directory.

Natural keys (two rows with the same key are one event; the first by Kafka
position is kept), per data type, within one ``exchange``/``symbol`` directory:

* trades: ``trade_id``; liquidations: ``trade_id`` when present;
* book snapshots: ``sequence``; book deltas: ``first_sequence``-``sequence``;
* analytics: window kind, length, start and ``final``; alerts: id, status, time;
* tickers, funding, open interest, gaps, dead letters (no reliable id): the
  Kafka position ``(_partition, _offset)``, which removes replayed copies only.

Rows with a null natural key fall back to the Kafka position.

Safety against a concurrent writer and readers:

* only hours that ended at least ``grace`` ago are touched, and only the files
  listed when the run started are merged and removed; a file the writer adds
  meanwhile (late rows) stays and is merged by the next run;
* the merged file is written and fsynced under a hidden temporary name that
  readers ignore, the manifest is written with ``state: swapping``, the old files
  are removed, then the temporary file is renamed to ``compacted.parquet`` and
  the manifest set ``complete``. Readers can therefore briefly see the hour with
  fewer rows (between the first removal and the rename, a few syscalls), but
  never a row twice. A crash in that window is finished by the next run from the
  manifest;
* the manifest keeps each partition's offset range, so the writer still skips
  rows replayed after their small files were compacted away.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sinks.durable_file import fsync_dir, publish, write_json, write_parquet_temp
from sinks.exceptions import CompactionError
from sinks.layout import COMPACTED_NAME, MANIFEST_NAME, data_files, hour_dirs, hour_start
from sinks.manifest import read_manifest
from sinks.schemas import SPECS, TableSpec

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompactionResult:
    directory: Path
    files_in: int
    rows_in: int
    rows_out: int


def compact(
    root: Path,
    now: datetime,
    grace: timedelta = timedelta(minutes=30),
    data_types: list[str] | None = None,
) -> list[CompactionResult]:
    """Compact every hour directory under ``root`` that closed before ``now - grace``."""
    results = []
    for data_type in data_types or list(SPECS):
        spec = SPECS[data_type]
        for directory in hour_dirs(root, spec):
            if hour_start(directory) + timedelta(hours=1) + grace > now:
                continue
            result = compact_hour(directory, spec, now)
            if result is not None:
                results.append(result)
    return results


def compact_hour(directory: Path, spec: TableSpec, now: datetime) -> CompactionResult | None:
    """Compact one closed hour directory; None when there is nothing to do."""
    _recover(directory)
    sources = data_files(directory)
    if not sources or [path.name for path in sources] == [COMPACTED_NAME]:
        return None
    try:
        merged = pa.concat_tables([_read(path, spec) for path in sources])
        table = _dedupe(merged, spec)
        final = directory / COMPACTED_NAME
        temp = write_parquet_temp(table, final)
    except Exception as exc:
        raise CompactionError(f"could not compact {directory}: {exc}") from exc
    manifest = _manifest(spec, table, sources, now)
    write_json({**manifest, "state": "swapping", "temp": temp.name}, directory / MANIFEST_NAME)
    _swap(directory, temp, [path.name for path in sources])
    write_json({**manifest, "state": "complete"}, directory / MANIFEST_NAME)
    logger.info("compacted %d files (%d rows) in %s", len(sources), table.num_rows, directory)
    return CompactionResult(directory, len(sources), merged.num_rows, table.num_rows)


def _read(path: Path, spec: TableSpec) -> pa.Table:
    return pq.read_table(path, schema=spec.schema, partitioning=None)


def _swap(directory: Path, temp: Path, sources: list[str]) -> None:
    """Remove the merged files, then move the compacted file into place."""
    for name in sources:
        if name != COMPACTED_NAME:
            (directory / name).unlink(missing_ok=True)
    fsync_dir(directory)
    publish(temp, directory / COMPACTED_NAME)


def _recover(directory: Path) -> None:
    """Finish a compaction that crashed between writing its manifest and the rename."""
    manifest = read_manifest(directory)
    if manifest is None or manifest.get("state") != "swapping":
        return
    temp = directory / str(manifest["temp"])
    if temp.exists():
        _swap(directory, temp, list(manifest["sources"]))
    write_json({**manifest, "state": "complete"}, directory / MANIFEST_NAME)
    logger.warning("finished an interrupted compaction in %s", directory)


def _dedupe(table: pa.Table, spec: TableSpec) -> pa.Table:
    """Keep the first row (by Kafka position) of each natural key, sorted by time."""
    con = duckdb.connect(":memory:")
    try:
        con.register("source", table)
        result = con.sql(
            f"""
            SELECT * EXCLUDE (_rank) FROM (
                SELECT *, row_number() OVER (
                    PARTITION BY {spec.dedupe_key} ORDER BY _partition, _offset) AS _rank
                FROM source)
            WHERE _rank = 1
            ORDER BY timestamp, _partition, _offset
            """  # noqa: S608 - the key is a constant of the spec, not input
        ).to_arrow_table()
        deduped: pa.Table = result.cast(spec.schema)
        return deduped
    finally:
        con.close()


def _manifest(
    spec: TableSpec, table: pa.Table, sources: list[Path], now: datetime
) -> dict[str, Any]:
    def bound(column: str, index: int) -> Any:
        if column not in table.column_names or table.num_rows == 0:
            return None
        value = table.column(column)[index if index == 0 else table.num_rows - 1].as_py()
        return value.isoformat() if isinstance(value, datetime) else value

    ranges = table.group_by("_partition").aggregate([("_offset", "min"), ("_offset", "max")])
    offsets = {
        str(row["_partition"]): [row["_offset_min"], row["_offset_max"]]
        for row in ranges.to_pylist()
    }
    sequence = "sequence" if "sequence" in table.column_names else None
    return {
        "data_type": spec.data_type,
        "rows": table.num_rows,
        "files": [COMPACTED_NAME],
        "sources": [path.name for path in sources],
        "first_timestamp": bound("timestamp", 0),
        "last_timestamp": bound("timestamp", -1),
        "first_sequence": _extreme(table, sequence, "min"),
        "last_sequence": _extreme(table, sequence, "max"),
        "first_trade_id": bound("trade_id", 0) if spec.data_type == "trades" else None,
        "last_trade_id": bound("trade_id", -1) if spec.data_type == "trades" else None,
        "offsets": offsets,
        "compacted_at": now.astimezone(UTC).isoformat(),
    }


def _extreme(table: pa.Table, column: str | None, which: str) -> int | None:
    if column is None:
        return None
    values = table.column(column)
    value: int | None = (pc.min(values) if which == "min" else pc.max(values)).as_py()
    return value
