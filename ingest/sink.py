"""Where a feed's records go: Kafka (:mod:`ingest.producer`) or standard output."""

from __future__ import annotations

import sys
from typing import BinaryIO, Protocol

from models import Record
from models.codec import encode


class RecordSink(Protocol):
    async def publish(self, record: Record) -> None:
        """Take one record; may wait (back-pressure) but never drops it."""


class JsonLinesSink:
    """Every record as one JSON line (with its ``type``), for ``--to-stdout``."""

    def __init__(self, out: BinaryIO | None = None) -> None:
        self._out = out if out is not None else sys.stdout.buffer
        self.count = 0

    async def publish(self, record: Record) -> None:
        self._out.write(encode(record) + b"\n")
        self.count += 1

    def flush(self) -> None:
        self._out.flush()
