"""The durable writer: atomic files, rolling, replays without duplicates, failures keep rows."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from models import Trade
from sinks.arrow_batch import to_table
from sinks.base import Durable, RollPolicy
from sinks.durable_file import write_parquet
from sinks.exceptions import PrecisionError, SinkWriteError
from sinks.layout import file_name, partition_dir
from sinks.parquet_writer import ParquetWriter
from sinks.schemas import SPECS
from tests.unit.sinks.factories import HOUR0, trade

TRADES = SPECS["trades"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def writer(root: Path, rows: int = 1000, clock: FakeClock | None = None) -> ParquetWriter:
    return ParquetWriter(root, TRADES, RollPolicy(rows=rows, seconds=60), clock or FakeClock())


def all_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def stored_ids(root: Path) -> list[str]:
    ids: list[str] = []
    for path in all_files(root):
        ids += pq.read_table(path, partitioning=None).column("trade_id").to_pylist()
    return sorted(ids, key=int)


def test_flush_writes_one_named_file_and_no_temp_file(tmp_path: Path) -> None:
    sink = writer(tmp_path)
    assert sink.add(trade(1), 0, 10) == []
    assert sink.add(trade(2), 0, 12) == []
    durable = sink.flush()
    directory = partition_dir(tmp_path, TRADES, trade(1))
    path = directory / "p0000-o000000000010-000000000012.parquet"
    assert durable == [Durable(0, (10, 12), path)]
    assert all_files(tmp_path) == [path]
    assert pq.read_metadata(path).row_group(0).column(0).compression == "ZSTD"
    assert sink.committable() == {0: 13}


def test_rolls_by_rows_and_reports_offsets(tmp_path: Path) -> None:
    sink = writer(tmp_path, rows=3)
    reports = [sink.add(trade(i), 1, 100 + i) for i in range(7)]
    assert [len(r) for r in reports] == [0, 0, 1, 0, 0, 1, 0]
    assert reports[2][0].offsets == (100, 101, 102)
    assert len(all_files(tmp_path)) == 2
    assert sink.committable() == {1: 106}  # offset 106 is still buffered


def test_rolls_by_age(tmp_path: Path) -> None:
    clock = FakeClock()
    sink = writer(tmp_path, clock=clock)
    sink.add(trade(1), 0, 0)
    clock.now += 59
    assert sink.flush_due() == []
    clock.now += 1
    assert [d.offsets for d in sink.flush_due()] == [(0,)]


def test_rolls_by_bytes(tmp_path: Path) -> None:
    sink = ParquetWriter(tmp_path, TRADES, RollPolicy(rows=10**6, bytes=1024), FakeClock())
    reports = [sink.add(trade(i), 0, i) for i in range(20)]
    assert any(reports), "a buffer past 1 KiB must be written"


def test_one_file_per_hour_and_symbol(tmp_path: Path) -> None:
    sink = writer(tmp_path)
    sink.add(trade(1), 0, 0)
    sink.add(trade(2, symbol="ETH-USDT"), 0, 1)
    sink.add(trade(3, at=HOUR0 + timedelta(hours=1)), 0, 2)
    sink.flush()
    hours = sorted(p.parent.relative_to(tmp_path).as_posix() for p in all_files(tmp_path))
    assert hours == [
        "trades/exchange=binance/symbol=BTC-USDT/date=2024-08-09/hour=00",
        "trades/exchange=binance/symbol=BTC-USDT/date=2024-08-09/hour=01",
        "trades/exchange=binance/symbol=ETH-USDT/date=2024-08-09/hour=00",
    ]


def test_same_offset_range_rewrites_the_same_file(tmp_path: Path) -> None:
    records = [trade(i) for i in range(5)]
    table = to_table(TRADES, records, [0] * 5, list(range(5)))
    path = partition_dir(tmp_path, TRADES, records[0]) / file_name(0, 0, 4)
    write_parquet(table, path)
    write_parquet(table, path)  # the replay of a crash between rename and commit
    assert all_files(tmp_path) == [path]
    assert stored_ids(tmp_path) == [str(i) for i in range(5)]


def test_replay_of_rows_already_on_disk_is_skipped(tmp_path: Path) -> None:
    first = writer(tmp_path)
    for i in range(5):
        first.add(trade(i), 0, i)
    first.flush()  # durable, then a crash before the offsets were committed
    before = all_files(tmp_path)
    second = writer(tmp_path)
    durable = [d for i in range(5) for d in second.add(trade(i), 0, i)]
    assert [d.path for d in durable] == [None] * 5
    assert second.flush() == []
    assert all_files(tmp_path) == before
    assert stored_ids(tmp_path) == [str(i) for i in range(5)]
    assert second.committable() == {0: 5}


def test_replay_with_other_roll_boundaries_stores_each_row_once(tmp_path: Path) -> None:
    events = [(trade(i, symbol=("BTC-USDT", "ETH-USDT")[i % 2]), i) for i in range(20)]
    first = writer(tmp_path, rows=4)
    for record, offset in events[:13]:
        first.add(record, 0, offset)
    committed = first.committable()[0]  # 8..12 are buffered: a crash loses them
    assert committed == 8
    second = writer(tmp_path, rows=3)  # restarted, with another roll size
    durable: list[Durable] = []
    for record, offset in events[committed - 5 :]:  # Kafka may replay even earlier
        durable += second.add(record, 0, offset)
    durable += second.flush()
    assert stored_ids(tmp_path) == [str(i) for i in range(20)]
    skipped = [d for d in durable if d.path is None]
    assert sorted(o for d in skipped for o in d.offsets) == [3, 4, 5, 6, 7]
    assert second.rows_skipped == 5


def test_failed_write_keeps_rows_and_leaves_no_partial_file(tmp_path: Path) -> None:
    sink = writer(tmp_path)
    for i in range(3):
        sink.add(trade(i), 0, i)
    directory = partition_dir(tmp_path, TRADES, trade(0))
    blocker = directory / "p0000-o000000000000-000000000002.parquet"
    blocker.mkdir(parents=True)  # the rename onto a directory fails
    with pytest.raises(SinkWriteError, match="rows kept buffered"):
        sink.flush()
    assert sink.buffered_rows == 3
    assert sink.committable() == {0: 0}
    assert all_files(tmp_path) == []  # no temp file, no partial file
    blocker.rmdir()
    assert [d.offsets for d in sink.flush()] == [(0, 1, 2)]
    assert stored_ids(tmp_path) == ["0", "1", "2"]


def test_failure_reports_what_other_buffers_made_durable(tmp_path: Path) -> None:
    sink = writer(tmp_path)
    sink.add(trade(1), 0, 1)
    sink.add(trade(2, symbol="ETH-USDT"), 0, 2)
    (partition_dir(tmp_path, TRADES, trade(1)) / "p0000-o000000000001-000000000001.parquet").mkdir(
        parents=True
    )
    with pytest.raises(SinkWriteError) as failure:
        sink.flush()
    assert [d.offsets for d in failure.value.durable] == [(2,)]
    assert sink.committable() == {0: 1}


def test_precision_error_keeps_rows(tmp_path: Path) -> None:
    sink = writer(tmp_path)
    # The model refuses such a value; model_copy skips validation to reach the sink's own check.
    bad: Trade = trade(1).model_copy(update={"quantity": Decimal("0.0000000000000000001")})
    sink.add(bad, 0, 0)
    with pytest.raises(SinkWriteError, match="more than 18 fractional digits") as failure:
        sink.flush()
    assert isinstance(failure.value.__cause__, PrecisionError)
    assert sink.buffered_rows == 1


def test_discard_forgets_revoked_partitions(tmp_path: Path) -> None:
    sink = writer(tmp_path)
    sink.add(trade(1), 0, 1)
    sink.add(trade(2), 1, 1)
    assert sink.discard([1]) == 1
    assert sink.committable() == {0: 1}
