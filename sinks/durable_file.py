"""Crash-safe file operations: write to a temporary name, fsync, rename, fsync the directory.

After :func:`write_parquet` returns, the file is complete under its final name
and survives a power cut; if it raises, no file (and no temporary file) is left
under the final name by this call.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

#: Rows per row group: DuckDB's own row-group size, its unit of parallel scanning.
ROW_GROUP_ROWS = 122_880
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 3,
    "row_group_size": ROW_GROUP_ROWS,
    "use_dictionary": True,
    "write_statistics": True,
}


def temp_path(final: Path) -> Path:
    """A hidden name next to ``final`` that readers ignore (no ``.parquet`` suffix)."""
    return final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")


def fsync_dir(directory: Path) -> None:
    """Make renames, creations and removals inside ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(directory: Path) -> None:
    """``mkdir -p`` that also fsyncs the parent of every directory it creates."""
    missing: list[Path] = []
    path = directory
    while not path.exists():
        missing.append(path)
        path = path.parent
    for path in reversed(missing):
        path.mkdir(exist_ok=True)
        fsync_dir(path.parent)


def write_parquet_temp(table: pa.Table, final: Path) -> Path:
    """Write ``table`` to a fsynced temporary file next to ``final``; return its path."""
    make_dirs(final.parent)
    temp = temp_path(final)
    try:
        with temp.open("wb") as handle:
            pq.write_table(table, handle, **PARQUET_OPTIONS)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def publish(temp: Path, final: Path) -> None:
    """Atomically rename ``temp`` to ``final`` (replacing it) and fsync the directory."""
    try:
        os.replace(temp, final)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(final.parent)


def write_parquet(table: pa.Table, final: Path) -> int:
    """Durably write ``table`` as ``final`` (zstd, row groups sized for DuckDB); its size."""
    temp = write_parquet_temp(table, final)
    size = temp.stat().st_size
    publish(temp, final)
    return size


def write_json(data: dict[str, Any], final: Path) -> None:
    """Durably and atomically write a small JSON document."""
    make_dirs(final.parent)
    temp = temp_path(final)
    try:
        with temp.open("w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    publish(temp, final)
