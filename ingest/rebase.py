"""Replaying a recording as if it had just happened.

A recording's event times are old; a worker that has seen live data would
treat them as late, and the broker deletes records whose timestamps fall
outside the topic's retention. :class:`RebasedSink` moves every time of every
record by one shift, chosen by :func:`shift_to_now` so that the recording's
last message happens now: the whole session lands just behind live data,
in order, with its relative timing untouched.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingest.recording import read_recording
from ingest.sink import RecordSink
from models import Record
from models.exceptions import ConfigError


def shift_to_now(path: Path, now: datetime | None = None) -> timedelta:
    """How far to move ``path``'s times so that its last received message is ``now``."""
    last: datetime | None = None
    for message in read_recording(path):
        last = message.received_at
    if last is None:
        raise ConfigError(f"{path} holds no message")
    return (now or datetime.now(UTC)) - last


def rebased(record: Record, shift: timedelta) -> Record:
    """``record`` with each of its datetime fields moved by ``shift``."""
    update = {name: value + shift for name, value in record if isinstance(value, datetime)}
    return record.model_copy(update=update) if update else record


class RebasedSink:
    """Publishes to ``inner`` every record moved by ``shift``."""

    def __init__(self, inner: RecordSink, shift: timedelta) -> None:
        self.inner = inner
        self.shift = shift

    async def publish(self, record: Record) -> None:
        await self.inner.publish(rebased(record, self.shift))
