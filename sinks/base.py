"""The sink interface: what a Kafka consumer may assume about a sink."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from models import Record


@dataclass(frozen=True)
class Durable:
    """Kafka records (one partition) whose rows are now durable.

    ``path`` is the file that holds them, or None when they were already on
    disk (a replay of rows written before a crash) and were skipped.
    """

    partition: int
    offsets: tuple[int, ...]
    path: Path | None


class RollSettings(Protocol):
    """What :class:`RollPolicy` reads (``app.settings.ParquetSettings`` has it)."""

    @property
    def roll_rows(self) -> int: ...
    @property
    def roll_bytes(self) -> int: ...
    @property
    def roll_seconds(self) -> float: ...


@dataclass(frozen=True)
class RollPolicy:
    """When a buffer becomes a file: at ``rows`` rows, ``bytes`` (estimated, in
    memory) or ``seconds`` after its first row, whichever comes first."""

    rows: int = 200_000
    bytes: int = 64 * 1024 * 1024
    seconds: float = 60.0

    @classmethod
    def of(cls, settings: RollSettings) -> RollPolicy:
        return cls(settings.roll_rows, settings.roll_bytes, settings.roll_seconds)


class BaseSink(ABC):
    """A buffered, durable sink for one data type.

    Delivery guarantee: **at least once from Kafka, exactly once on disk.** A row
    is reported :class:`Durable` only after the file holding it is fsynced and
    renamed into place; the caller acknowledges (commits) a Kafka record only
    after that. Records that were not reported may be lost in a crash and are
    then consumed again; a replayed record that is already on disk is skipped
    (or rewrites the same file), so it is stored once. A failing write raises
    and keeps the rows buffered: nothing is dropped silently.
    """

    @abstractmethod
    def add(self, record: Record, partition: int, offset: int) -> list[Durable]:
        """Called for every consumed record, in offset order within a partition.

        Returns what became durable meanwhile (a buffer that reached its row or
        byte limit is written, a replayed record already on disk is reported at
        once). Raises :class:`~sinks.exceptions.SinkWriteError` when a write
        fails: the rows stay buffered, the caller must not acknowledge them and
        should retry :meth:`flush` or stop the worker.
        """

    @abstractmethod
    def flush_due(self) -> list[Durable]:
        """Called periodically (about every second): write buffers older than the
        age limit. Failure as in :meth:`add`."""

    @abstractmethod
    def flush(self) -> list[Durable]:
        """Called before a rebalance, on shutdown, or to retry after a failure:
        write every buffer. Failure as in :meth:`add`."""

    @abstractmethod
    def committable(self) -> dict[int, int]:
        """Kafka partition -> the next offset to commit: every record below it
        that was added is durable. Never fails."""

    @abstractmethod
    def discard(self, partitions: Iterable[int]) -> int:
        """Called when partitions are revoked after a failed flush: forget their
        buffered rows (the next owner consumes them again). Returns rows dropped."""
