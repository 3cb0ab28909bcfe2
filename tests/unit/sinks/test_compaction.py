"""Compaction: same rows, one file per closed hour, duplicates removed, safe with a writer."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sinks.base import RollPolicy
from sinks.compaction import compact
from sinks.durable_file import write_json, write_parquet_temp
from sinks.layout import COMPACTED_NAME, MANIFEST_NAME, data_files, partition_dir
from sinks.manifest import is_complete, read_manifest
from sinks.parquet_writer import ParquetWriter
from sinks.schemas import SPECS
from tests.unit.sinks.factories import HOUR0, trade

TRADES = SPECS["trades"]
LATER = HOUR0 + timedelta(hours=3)


def hour_dir(root: Path) -> Path:
    return partition_dir(root, TRADES, trade(0))


def read_rows(directory: Path) -> pa.Table:
    tables = [
        pq.read_table(p, schema=TRADES.schema, partitioning=None) for p in data_files(directory)
    ]
    return pa.concat_tables(tables).sort_by([("_partition", "ascending"), ("_offset", "ascending")])


def write_small_files(root: Path, count: int = 10, per_file: int = 3) -> ParquetWriter:
    sink = ParquetWriter(root, TRADES, RollPolicy(rows=per_file))
    for i in range(count):
        sink.add(trade(i, at=HOUR0 + timedelta(seconds=i)), 0, i)
    sink.flush()
    return sink


def test_compaction_keeps_rows_and_contents(tmp_path: Path) -> None:
    write_small_files(tmp_path)
    directory = hour_dir(tmp_path)
    before = read_rows(directory)
    assert len(data_files(directory)) == 4
    [result] = compact(tmp_path, now=LATER)
    assert (result.files_in, result.rows_in, result.rows_out) == (4, 10, 10)
    assert [p.name for p in data_files(directory)] == [COMPACTED_NAME]
    assert read_rows(directory).equals(before)
    assert not [p for p in directory.iterdir() if p.name.startswith(".")]
    assert compact(tmp_path, now=LATER) == []  # nothing left to do


def test_manifest_records_the_hour(tmp_path: Path) -> None:
    write_small_files(tmp_path)
    compact(tmp_path, now=LATER)
    manifest = read_manifest(hour_dir(tmp_path))
    assert manifest is not None
    assert manifest["state"] == "complete" and manifest["rows"] == 10
    assert (manifest["first_trade_id"], manifest["last_trade_id"]) == ("0", "9")
    assert (manifest["first_sequence"], manifest["last_sequence"]) == (0, 9)
    assert manifest["offsets"] == {"0": [0, 9]}
    assert manifest["files"] == [COMPACTED_NAME] and len(manifest["sources"]) == 4
    assert manifest["first_timestamp"] == HOUR0.isoformat()
    assert is_complete(hour_dir(tmp_path))


def test_duplicate_trade_ids_are_removed(tmp_path: Path) -> None:
    sink = ParquetWriter(tmp_path, TRADES, RollPolicy(rows=100))
    for offset, trade_id in enumerate([1, 2, 2, 3, 1]):  # the exchange sent 1 and 2 twice
        sink.add(trade(trade_id), 0, offset)
    sink.flush()
    [result] = compact(tmp_path, now=LATER)
    assert (result.rows_in, result.rows_out) == (5, 3)
    rows = read_rows(hour_dir(tmp_path))
    assert rows.column("trade_id").to_pylist() == ["1", "2", "3"]
    assert rows.column("_offset").to_pylist() == [0, 1, 3]  # the first copy is kept


def test_open_hours_are_not_touched(tmp_path: Path) -> None:
    write_small_files(tmp_path)
    assert compact(tmp_path, now=HOUR0 + timedelta(minutes=80)) == []  # grace not over
    assert len(data_files(hour_dir(tmp_path))) == 4


def test_late_file_is_kept_and_merged_next_time(tmp_path: Path) -> None:
    sink = write_small_files(tmp_path)
    compact(tmp_path, now=LATER)
    sink.add(trade(10, at=HOUR0 + timedelta(minutes=59)), 0, 10)  # a late row
    sink.flush()
    directory = hour_dir(tmp_path)
    assert len(data_files(directory)) == 2 and not is_complete(directory)
    [result] = compact(tmp_path, now=LATER)
    assert (result.files_in, result.rows_out) == (2, 11)
    assert is_complete(directory)


def test_replay_after_compaction_is_skipped_by_the_writer(tmp_path: Path) -> None:
    write_small_files(tmp_path)
    compact(tmp_path, now=LATER)
    restarted = ParquetWriter(tmp_path, TRADES, RollPolicy(rows=3))
    for i in range(10):
        restarted.add(trade(i, at=HOUR0 + timedelta(seconds=i)), 0, i)
    restarted.flush()
    assert restarted.rows_skipped == 10
    assert [p.name for p in data_files(hour_dir(tmp_path))] == [COMPACTED_NAME]


def test_a_crash_during_the_swap_is_finished_by_the_next_run(tmp_path: Path) -> None:
    write_small_files(tmp_path)
    directory = hour_dir(tmp_path)
    sources = data_files(directory)
    merged = pa.concat_tables([pq.read_table(p, partitioning=None) for p in sources])
    temp = write_parquet_temp(merged, directory / COMPACTED_NAME)
    manifest = {"state": "swapping", "temp": temp.name, "sources": [p.name for p in sources]}
    write_json({**manifest, "offsets": {"0": [0, 9]}}, directory / MANIFEST_NAME)
    sources[0].unlink()  # the crash happened after the first removal
    compact(tmp_path, now=LATER)
    assert [p.name for p in data_files(directory)] == [COMPACTED_NAME]
    assert read_rows(directory).num_rows == 10
    assert json.loads((directory / MANIFEST_NAME).read_text())["state"] == "complete"
