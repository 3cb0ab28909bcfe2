"""Where rows live on disk: a hive-style tree by data type, exchange, symbol, date, hour.

::

    <root>/trades/exchange=binance/symbol=BTC-USDT/date=2024-08-09/hour=00/
        p0003-o000000001234-000000005678.parquet

Date and hour are those of the record's ``timestamp`` in UTC: the exchange
event time for market data, the window end for analytics, the triggering event
time for alerts, the detection time for gaps. Dead letters have no symbol and
live under ``dead_letters/date=.../hour=.../``.

A data file is named after the Kafka partition and the first and last offset
of its rows, so writing the same rows again replaces the file instead of adding
a duplicate. Names starting with ``.`` (temporary files) and names not ending
in ``.parquet`` (manifests) are not data; readers glob ``**/*.parquet``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from models import Record
from sinks.schemas import TableSpec

COMPACTED_NAME = "compacted.parquet"
MANIFEST_NAME = "_manifest.json"
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_DATA_FILE = re.compile(r"^p(?P<partition>\d{4,})-o(?P<first>\d{12,})-(?P<last>\d{12,})\.parquet$")
_HOUR_DIR = re.compile(r"date=(\d{4}-\d{2}-\d{2})/hour=(\d{2})$")


def _value(name: str, value: object) -> str:
    text = str(value)
    if not _SAFE.match(text) or ".." in text:
        raise ValueError(f"{name}={text!r} is not safe as a path component")
    return text


def _attr(record: Record, name: str) -> Any:
    """A field every stored model of the spec has (``timestamp``, ``exchange``, ``symbol``)."""
    return getattr(record, name)


def partition_dir(root: Path, spec: TableSpec, record: Record) -> Path:
    """The hive directory of ``record``."""
    when = _attr(record, "timestamp").astimezone(UTC)
    hour = (when.year, when.month, when.day, when.hour)
    if not spec.by_symbol:
        return _hive_dir(root, spec.directory, None, None, hour)
    return _hive_dir(root, spec.directory, _attr(record, "exchange"), _attr(record, "symbol"), hour)


@lru_cache(maxsize=16_384)
def _hive_dir(
    root: Path,
    directory: str,
    exchange: str | None,
    symbol: str | None,
    hour: tuple[int, int, int, int],
) -> Path:
    """Cached: a sink asks for the same few directories millions of times."""
    path = root / directory
    if exchange is not None and symbol is not None:
        path = path / f"exchange={_value('exchange', exchange)}"
        path = path / f"symbol={_value('symbol', symbol)}"
    year, month, day, hour_of_day = hour
    return path / f"date={year:04d}-{month:02d}-{day:02d}" / f"hour={hour_of_day:02d}"


def file_name(partition: int, first_offset: int, last_offset: int) -> str:
    """``p0003-o000000001234-000000005678.parquet``."""
    if partition < 0 or first_offset < 0 or last_offset < first_offset:
        raise ValueError(f"bad Kafka position p{partition} o{first_offset}-{last_offset}")
    return f"p{partition:04d}-o{first_offset:012d}-{last_offset:012d}.parquet"


def parse_file_name(name: str) -> tuple[int, int, int] | None:
    """``(partition, first, last)`` of a sink file name, or None for any other file."""
    match = _DATA_FILE.match(name)
    if match is None:
        return None
    return int(match["partition"]), int(match["first"]), int(match["last"])


def is_data_file(path: Path) -> bool:
    """True for the files readers see (not temporary files, not manifests)."""
    return path.suffix == ".parquet" and not path.name.startswith(".")


def data_files(directory: Path) -> list[Path]:
    """The data files of one hive directory, sorted by name."""
    if not directory.is_dir():
        return []
    return sorted(path for path in directory.iterdir() if is_data_file(path) and path.is_file())


def hour_dirs(root: Path, spec: TableSpec) -> list[Path]:
    """Every ``.../date=YYYY-MM-DD/hour=HH`` directory of a data type."""
    pattern = "exchange=*/symbol=*/date=*/hour=*" if spec.by_symbol else "date=*/hour=*"
    return sorted(path for path in (root / spec.directory).glob(pattern) if path.is_dir())


def hour_start(directory: Path) -> datetime:
    """The UTC start of the hour a hive directory holds."""
    match = _HOUR_DIR.search(directory.as_posix())
    if match is None:
        raise ValueError(f"{directory} is not an hour directory")
    day = datetime.strptime(match[1], "%Y-%m-%d").replace(tzinfo=UTC)
    return day.replace(hour=int(match[2]))


def glob_pattern(root: Path, spec: TableSpec) -> str:
    """The file pattern a reader uses for one data type."""
    return f"{root / spec.directory}/**/*.parquet"
