"""What a Parquet sink agent reports: its status (``/status``, ``/ready``) and its
Prometheus series (``marketprism_sink_*``).

The series are fed from the writer's own counters each time the agent
acknowledges, which it does after every write: rows, files and bytes move when
a file is renamed into place, the last-commit gauge when durable rows are
acknowledged for commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.metrics import WorkerMetrics
from sinks.parquet_writer import ParquetWriter


@dataclass(frozen=True)
class SinkStatus:
    """One sink as the health page shows it."""

    data_type: str
    topic: str
    rows_written: int
    rows_skipped: int  #: replayed rows found already on disk
    files_written: int
    buffered_rows: int
    unacked_events: int
    dead_lettered: int
    discarded_rows: int  #: dropped at a revocation after a failed flush (consumed again)
    last_durable_at: datetime | None  #: last time durable rows were acknowledged for commit
    waiting_seconds: float  #: how long events have waited with no durable progress (0: none wait)
    failing: bool
    failing_since: datetime | None
    failure_episodes: int
    last_error: str | None
    last_error_at: datetime | None


class SinkMeter:
    """The ``marketprism_sink_*`` series of one data type."""

    def __init__(self, metrics: WorkerMetrics, data_type: str) -> None:
        self._rows = metrics.sink_rows.labels(data_type=data_type)
        self._files = metrics.sink_files.labels(data_type=data_type)
        self._bytes = metrics.sink_bytes.labels(data_type=data_type)
        self._last_commit = metrics.sink_last_commit.labels(data_type=data_type)
        self._failures = metrics.sink_write_failures.labels(data_type=data_type)
        self._counted = (0, 0, 0)  #: rows, files, bytes already counted

    def written(self, writer: ParquetWriter) -> None:
        """Count the files ``writer`` completed since the last call."""
        rows, files, size = writer.rows_written, writer.files_written, writer.bytes_written
        counted_rows, counted_files, counted_bytes = self._counted
        if files != counted_files:
            self._rows.inc(rows - counted_rows)
            self._files.inc(files - counted_files)
            self._bytes.inc(size - counted_bytes)
            self._counted = (rows, files, size)

    def committed(self, unix_time: float) -> None:
        self._last_commit.set(unix_time)

    def failed(self) -> None:
        self._failures.inc()
