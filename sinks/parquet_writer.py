"""The durable Parquet writer: buffers rows per hive directory and Kafka partition.

A buffer becomes one file when it reaches ``RollPolicy.rows`` rows,
``RollPolicy.bytes`` estimated bytes or ``RollPolicy.seconds`` of age. The
file is written under a temporary name in its directory, fsynced, renamed
into place and the directory fsynced (:mod:`sinks.durable_file`); only then are
its Kafka positions reported :class:`~sinks.base.Durable`.

Replays: for every (directory, partition) the writer knows the highest offset
already on disk (from file names and the compaction manifest). Rows of one
symbol from one partition reach their buffer in offset order and a buffer is
always written whole, so the files of a directory hold a prefix of its rows:
a replayed row at or below that offset is already stored and is skipped, and
so is one at or below the last offset of its buffer (a consumer may deliver a
record again before it was written: Faust does right after an assignment).
Writing the very same rows again produces the same file name and replaces the
file, so either way nothing is stored twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from models import Record
from sinks.arrow_batch import estimate_row_bytes, to_table
from sinks.base import BaseSink, Durable, RollPolicy
from sinks.durable_file import write_parquet
from sinks.exceptions import SinkWriteError
from sinks.layout import file_name, partition_dir
from sinks.manifest import last_durable_offsets
from sinks.schemas import TableSpec

logger = logging.getLogger(__name__)

_Key = tuple[Path, int]


@dataclass
class _Buffer:
    started_at: float
    records: list[Record] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    bytes: int = 0


class ParquetWriter(BaseSink):
    """Writes one data type's records under ``root`` (see :class:`BaseSink` for the guarantee)."""

    def __init__(
        self,
        root: Path,
        spec: TableSpec,
        policy: RollPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = root
        self.spec = spec
        self.policy = policy or RollPolicy()
        self._clock = clock
        self._buffers: dict[_Key, _Buffer] = {}
        self._on_disk: dict[_Key, int] = {}
        self._next: dict[int, int] = {}
        self.files_written = 0
        self.rows_written = 0
        self.bytes_written = 0
        self.rows_skipped = 0

    def add(self, record: Record, partition: int, offset: int) -> list[Durable]:
        directory = partition_dir(self.root, self.spec, record)
        key = (directory, partition)
        # Read what is on disk before counting the offset as added: if that
        # raises, committable() must not move past a record that is not stored.
        last_on_disk = self._last_on_disk(key)
        self._next[partition] = max(self._next.get(partition, 0), offset + 1)
        if offset <= last_on_disk:
            self.rows_skipped += 1
            return [Durable(partition, (offset,), None)]
        buffer = self._buffers.get(key)
        if buffer is None:
            buffer = self._buffers[key] = _Buffer(started_at=self._clock())
        elif offset <= buffer.offsets[-1]:  # delivered again while still buffered
            self.rows_skipped += 1
            return []  # reported durable with the buffer that holds it
        buffer.records.append(record)
        buffer.offsets.append(offset)
        buffer.bytes += estimate_row_bytes(self.spec, record)
        if len(buffer.records) >= self.policy.rows or buffer.bytes >= self.policy.bytes:
            return self._write([key])
        return []

    def flush_due(self) -> list[Durable]:
        now = self._clock()
        due = [k for k, b in self._buffers.items() if now - b.started_at >= self.policy.seconds]
        return self._write(due)

    def flush(self) -> list[Durable]:
        return self._write(list(self._buffers))

    def committable(self) -> dict[int, int]:
        result = dict(self._next)
        for (_, partition), buffer in self._buffers.items():
            result[partition] = min(result[partition], buffer.offsets[0])
        return result

    def discard(self, partitions: Iterable[int]) -> int:
        revoked = set(partitions)
        dropped = 0
        for key in [key for key in self._buffers if key[1] in revoked]:
            dropped += len(self._buffers.pop(key).records)
        for key in [key for key in self._on_disk if key[1] in revoked]:
            del self._on_disk[key]  # the next owner may have written more meanwhile
        for partition in revoked:
            self._next.pop(partition, None)
        return dropped

    @property
    def buffered_rows(self) -> int:
        # a snapshot: the sink agent may be writing in its thread meanwhile
        return sum(len(buffer.records) for buffer in list(self._buffers.values()))

    def _last_on_disk(self, key: _Key) -> int:
        last = self._on_disk.get(key)
        if last is None:
            directory, partition = key
            last = self._on_disk[key] = last_durable_offsets(directory).get(partition, -1)
        return last

    def _write(self, keys: list[_Key]) -> list[Durable]:
        """Write the given buffers; raise after trying all of them if any failed."""
        durable: list[Durable] = []
        failures: list[tuple[_Key, Exception]] = []
        for key in keys:
            try:
                durable.append(self._write_one(key))
            except Exception as exc:
                logger.exception("writing %s rows to %s failed", self.spec.data_type, key[0])
                failures.append((key, exc))
        if failures:
            reasons = "; ".join(f"{key[0]} (partition {key[1]}): {exc}" for key, exc in failures)
            raise SinkWriteError(
                f"{len(failures)} {self.spec.data_type} file(s) not written, "
                f"rows kept buffered: {reasons}",
                durable,
            ) from failures[0][1]
        return durable

    def _write_one(self, key: _Key) -> Durable:
        directory, partition = key
        buffer = self._buffers[key]
        table = to_table(
            self.spec, buffer.records, [partition] * len(buffer.offsets), buffer.offsets
        )
        path = directory / file_name(partition, buffer.offsets[0], buffer.offsets[-1])
        size = write_parquet(table, path)
        del self._buffers[key]
        self._on_disk[key] = max(self._last_on_disk(key), buffer.offsets[-1])
        self.files_written += 1
        self.rows_written += len(buffer.offsets)
        self.bytes_written += size
        logger.debug("wrote %d rows to %s", len(buffer.offsets), path)
        return Durable(partition, tuple(buffer.offsets), path)
