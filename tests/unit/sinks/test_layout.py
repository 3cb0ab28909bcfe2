"""Hive paths and file names."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sinks.layout import file_name, hour_start, parse_file_name, partition_dir
from sinks.schemas import SPECS
from tests.unit.models.samples import every_model
from tests.unit.sinks.factories import trade


def test_trade_path_uses_exchange_symbol_date_and_event_hour(tmp_path: Path) -> None:
    late = datetime(2024, 8, 9, 23, 59, 59, 999_999, tzinfo=UTC)
    path = partition_dir(tmp_path, SPECS["trades"], trade(1, at=late))
    expected = "trades/exchange=binance/symbol=BTC-USDT/date=2024-08-09/hour=23"
    assert path == tmp_path / expected
    assert hour_start(path) == datetime(2024, 8, 9, 23, tzinfo=UTC)


def test_every_data_type_has_a_directory(tmp_path: Path) -> None:
    paths = {
        name: partition_dir(tmp_path, SPECS[name], record).relative_to(tmp_path).as_posix()
        for name, record in every_model().items()
    }
    assert paths["book_snapshots"].startswith("books/exchange=binance/symbol=BTC-USDT/")
    assert paths["funding_rates"].startswith("funding/exchange=okx/symbol=BTC-USDT-PERP/")
    assert paths["analytics"].endswith("date=2024-08-09/hour=00")  # window end
    assert paths["dead_letters"] == "dead_letters/date=2024-08-09/hour=00"


def test_file_name_carries_partition_and_offset_range() -> None:
    name = file_name(3, 1234, 5678)
    assert name == "p0003-o000000001234-000000005678.parquet"
    assert parse_file_name(name) == (3, 1234, 5678)
    assert parse_file_name("compacted.parquet") is None
    with pytest.raises(ValueError, match="bad Kafka position"):
        file_name(0, 10, 9)


def test_unsafe_path_components_are_refused(tmp_path: Path) -> None:
    record = trade(1).model_copy(update={"symbol": "../../etc"})
    with pytest.raises(ValueError, match="not safe"):
        partition_dir(tmp_path, SPECS["trades"], record)
