"""Event-time window arithmetic and the watermark.

All times are integer epoch microseconds of *exchange event time*. Windows are
aligned to the epoch: the tumbling window of size ``s`` holding ``t`` starts at
``t - t % s``; a hopping window of size ``s`` and step ``d`` (``d`` divides
``s``) starts at a multiple of ``d``. A window ``[start, end)`` is closed once
the watermark reaches ``end``; the watermark is the greatest event time seen
minus the grace period (and never goes back). An event whose window is already
closed is *late*: the caller dead-letters and counts it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tumbling:
    size_us: int

    def __post_init__(self) -> None:
        if self.size_us <= 0:
            raise ValueError("window size must be positive")

    def start(self, ts_us: int) -> int:
        return ts_us - ts_us % self.size_us

    def bounds(self, ts_us: int) -> tuple[int, int]:
        start = ts_us - ts_us % self.size_us
        return start, start + self.size_us


@dataclass(frozen=True, slots=True)
class Hopping:
    size_us: int
    step_us: int

    def __post_init__(self) -> None:
        if self.step_us <= 0 or self.size_us <= 0:
            raise ValueError("window size and step must be positive")
        if self.size_us % self.step_us:
            raise ValueError("a hopping window's size must be a whole multiple of its step")

    @property
    def steps(self) -> int:
        """Tumbling step-sized buckets per window."""
        return self.size_us // self.step_us

    def windows(self, ts_us: int) -> list[tuple[int, int]]:
        """Every window holding ``ts_us``, oldest first (direct assignment: the
        reference the bucket-merging implementation is tested against)."""
        last = ts_us - ts_us % self.step_us
        starts = range(last - self.size_us + self.step_us, last + 1, self.step_us)
        return [(start, start + self.size_us) for start in starts]


class Watermark:
    """Event-time progress of one stream (one partition, or one venue's events).

    ``value`` is ``max(event time seen) - grace``, raised further by
    :meth:`advance_to` (an idle stream's timer, from an injectable clock); it
    never decreases. ``None`` until the first event.
    """

    __slots__ = ("grace_us", "_max_event_us", "_floor_us")

    def __init__(self, grace_us: int) -> None:
        if grace_us < 0:
            raise ValueError("grace must not be negative")
        self.grace_us = grace_us
        self._max_event_us: int | None = None
        self._floor_us: int | None = None

    @property
    def max_event_us(self) -> int | None:
        return self._max_event_us

    @property
    def floor_us(self) -> int | None:
        """The floor set by :meth:`advance_to` (``None`` if never advanced by a clock)."""
        return self._floor_us

    @property
    def value(self) -> int | None:
        by_events = None if self._max_event_us is None else self._max_event_us - self.grace_us
        if self._floor_us is None:
            return by_events
        return self._floor_us if by_events is None else max(by_events, self._floor_us)

    def observe(self, ts_us: int) -> None:
        if self._max_event_us is None or ts_us > self._max_event_us:
            self._max_event_us = ts_us

    def advance_to(self, value_us: int) -> None:
        """Close windows up to ``value_us`` even without events (idle stream)."""
        if self._floor_us is None or value_us > self._floor_us:
            self._floor_us = value_us

    def closed(self, end_us: int) -> bool:
        """Whether a window ending at ``end_us`` is closed (late for new events)."""
        value = self.value
        return value is not None and end_us <= value
