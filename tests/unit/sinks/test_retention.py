"""Retention by partition hour and removal of stale temporary files."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from models import DeadLetter
from sinks.base import RollPolicy
from sinks.compaction import compact
from sinks.durable_file import temp_path, write_json
from sinks.layout import COMPACTED_NAME, MANIFEST_NAME, hour_dirs, partition_dir
from sinks.maintenance import maintain
from sinks.parquet_writer import ParquetWriter
from sinks.retention import (
    EXPIRED_DIR,
    expire_hours,
    purge_expired,
    remove_stale_temp_files,
    retire_hour,
)
from sinks.schemas import SPECS
from sinks.views import views_sql
from tests.unit.sinks.factories import HOUR0, trade

TRADES = SPECS["trades"]
NOW = HOUR0 + timedelta(days=10, minutes=30)  # 2024-08-19T00:30Z


def write_hours(root: Path, hours: list[datetime], symbol: str = "BTC-USDT") -> None:
    """Five trades in each of ``hours``, two files per hour."""
    sink = ParquetWriter(root, TRADES, RollPolicy(rows=3))
    offset = 0
    for hour in hours:
        for second in range(5):
            sink.add(trade(offset, at=hour + timedelta(seconds=second), symbol=symbol), 0, offset)
            offset += 1
        sink.flush()


def count(root: Path) -> int:
    con = duckdb.connect()
    con.execute(views_sql(root))
    row = con.execute("SELECT count(*) FROM trades").fetchone()
    assert row is not None
    return int(row[0])


def test_only_hours_older_than_the_retention_are_deleted(tmp_path: Path) -> None:
    # With 3 days' retention at NOW, the cutoff is 2024-08-16T00:30: the hour 23:00-24:00
    # of 08-15 has ended before it; the hour 00:00-01:00 of 08-16 has not.
    expired = [HOUR0, HOUR0 + timedelta(days=6, hours=23)]
    kept = [HOUR0 + timedelta(days=7), HOUR0 + timedelta(days=9, hours=5)]
    write_hours(tmp_path, expired + kept)
    assert count(tmp_path) == 20

    removed = expire_hours(tmp_path, NOW, timedelta(days=3))

    assert sorted(removed) == sorted(
        partition_dir(tmp_path, TRADES, trade(0, at=h)) for h in expired
    )
    assert hour_dirs(tmp_path, TRADES) == sorted(
        partition_dir(tmp_path, TRADES, trade(0, at=h)) for h in kept
    )
    assert count(tmp_path) == 10
    assert not (tmp_path / EXPIRED_DIR).exists() or not any((tmp_path / EXPIRED_DIR).iterdir())
    # The emptied date directory of 08-09 is gone; 08-15's too; nothing else was touched.
    symbol_dir = tmp_path / "trades/exchange=binance/symbol=BTC-USDT"
    assert sorted(p.name for p in symbol_dir.iterdir()) == ["date=2024-08-16", "date=2024-08-18"]
    assert expire_hours(tmp_path, NOW, timedelta(days=3)) == []


def test_a_symbol_with_only_old_hours_disappears_whole(tmp_path: Path) -> None:
    write_hours(tmp_path, [HOUR0], symbol="ETH-USDT")
    write_hours(tmp_path, [NOW - timedelta(hours=2)], symbol="BTC-USDT")
    expire_hours(tmp_path, NOW, timedelta(days=1))
    exchange_dir = tmp_path / "trades/exchange=binance"
    assert [p.name for p in exchange_dir.iterdir()] == ["symbol=BTC-USDT"]


def test_dead_letters_expire_by_their_hour_too(tmp_path: Path) -> None:
    spec = SPECS["dead_letters"]
    sink = ParquetWriter(tmp_path, spec)
    for offset, at in enumerate([HOUR0, NOW - timedelta(hours=1)]):
        letter = DeadLetter(source="ingest:binance", reason="bad json", raw="{", timestamp=at)
        sink.add(letter, 0, offset)
    sink.flush()
    assert len(hour_dirs(tmp_path, spec)) == 2
    assert len(expire_hours(tmp_path, NOW, timedelta(days=1))) == 1
    [left] = hour_dirs(tmp_path, spec)
    assert left.parent.name == "date=2024-08-18"  # NOW - 1 h


def test_an_hour_leaves_the_readers_view_in_one_rename(tmp_path: Path) -> None:
    write_hours(tmp_path, [HOUR0, HOUR0 + timedelta(hours=1)])
    first, second = hour_dirs(tmp_path, TRADES)
    files = sorted(p.name for p in first.iterdir())
    inode = first.stat().st_ino
    assert count(tmp_path) == 10

    moved = retire_hour(tmp_path, first)

    # The very same directory (a rename, not copy-and-delete), with every file in it,
    # now outside the tree the views read: readers see none of the hour, all of the next.
    assert moved.stat().st_ino == inode and sorted(p.name for p in moved.iterdir()) == files
    assert moved.parent == tmp_path / EXPIRED_DIR
    assert not first.exists() and count(tmp_path) == 5
    assert purge_expired(tmp_path) == 1 and not moved.exists()
    assert second.exists()


def test_an_expiry_interrupted_after_the_rename_is_finished_next_run(tmp_path: Path) -> None:
    write_hours(tmp_path, [HOUR0])
    [directory] = hour_dirs(tmp_path, TRADES)
    moved = retire_hour(tmp_path, directory)  # ... and the process died here
    assert count(tmp_path) == 0
    assert expire_hours(tmp_path, NOW, timedelta(days=3)) == []
    assert not moved.exists() and list((tmp_path / EXPIRED_DIR).iterdir()) == []


def age(path: Path, seconds: float) -> None:
    stamp = NOW.timestamp() - seconds
    os.utime(path, (stamp, stamp))


def test_stale_temp_files_go_and_fresh_ones_stay(tmp_path: Path) -> None:
    write_hours(tmp_path, [HOUR0])
    [directory] = hour_dirs(tmp_path, TRADES)
    stale = temp_path(directory / "p0000-o000000000005-000000000009.parquet")
    fresh = temp_path(directory / "p0000-o000000000010-000000000012.parquet")
    root_stale = temp_path(tmp_path / "views.sql")  # a crashed views-sql at the root
    other_hidden = directory / ".keep"
    for path in (stale, fresh, root_stale, other_hidden):
        path.write_bytes(b"partial")
    for path in (stale, root_stale, other_hidden):
        age(path, 2 * 3600)
    age(fresh, 600)

    removed = remove_stale_temp_files(tmp_path, NOW, timedelta(hours=1))

    assert sorted(removed) == sorted([stale, root_stale])
    assert fresh.exists() and other_hidden.exists()
    assert count(tmp_path) == 5  # the data files are untouched


def test_the_temp_file_of_an_unfinished_compaction_is_kept(tmp_path: Path) -> None:
    write_hours(tmp_path, [HOUR0])
    [directory] = hour_dirs(tmp_path, TRADES)
    sources = sorted(p.name for p in directory.glob("*.parquet"))
    pending = temp_path(directory / COMPACTED_NAME)
    pending.write_bytes((directory / sources[0]).read_bytes())
    write_json(
        {"state": "swapping", "temp": pending.name, "sources": sources[:1]},
        directory / MANIFEST_NAME,
    )
    age(pending, 5 * 3600)
    assert remove_stale_temp_files(tmp_path, NOW, timedelta(hours=1)) == []
    assert pending.exists()


def test_maintenance_expires_cleans_and_compacts(tmp_path: Path) -> None:
    write_hours(tmp_path, [HOUR0, NOW - timedelta(hours=3), NOW - timedelta(hours=2)])
    assert count(tmp_path) == 15
    stale = temp_path(hour_dirs(tmp_path, TRADES)[-1] / "p0000-o000000000015-000000000016.parquet")
    stale.write_bytes(b"partial")
    age(stale, 7200)

    report = maintain(tmp_path, NOW, timedelta(minutes=30), timedelta(days=1), timedelta(hours=1))

    assert report.hours_expired == 1 and report.temp_files_cleaned == 1
    assert report.hours_compacted == 2 and report.files_in == 4 and report.files_removed == 2
    assert report.rows_before == report.rows_after == 10
    assert count(tmp_path) == 10
    assert compact(tmp_path, NOW) == []
    assert not stale.exists()


def test_retention_uses_the_partition_hour_not_file_times(tmp_path: Path) -> None:
    write_hours(tmp_path, [datetime(2024, 8, 18, 22, tzinfo=UTC)])
    for path in tmp_path.rglob("*.parquet"):
        age(path, 30 * 86_400)  # an old file time does not matter
    assert expire_hours(tmp_path, NOW, timedelta(days=1)) == []
    assert count(tmp_path) == 5
