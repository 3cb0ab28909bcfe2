"""Open event-time buckets for many keys, closed explicitly by the watermark.

Faust's ``on_window_close`` is unreliable for hopping windows and its expiry
runs on the wall clock (faust issue #385); here nothing closes on its own. The
caller adds a batch, then asks :meth:`BucketAggregator.close_due` which
windows the watermark has closed, emits them, and deletes them from its table.
A batch is grouped per (key, bucket) first, so each touched bucket gets one
``add_many`` and one table write per batch, not one per event.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from tables.accumulator import Accumulator, Mergeable
from tables.windows import Tumbling, Watermark

S = TypeVar("S")


class HasTimestamp(Protocol):
    @property
    def ts_us(self) -> int: ...


E = TypeVar("E", bound=HasTimestamp)


@dataclass(frozen=True, slots=True)
class ClosedWindow(Generic[S]):
    """One key's final state for ``[start_us, end_us)``."""

    key: str
    start_us: int
    end_us: int
    state: S


@dataclass(frozen=True, slots=True)
class LateEvent(Generic[E]):
    """An event whose window had closed when it arrived: dead-letter and count it."""

    key: str
    event: E
    window_end_us: int
    watermark_us: int

    @property
    def reason(self) -> str:
        behind = (self.watermark_us - self.window_end_us) / 1e6
        return f"late event: its window closed {behind:.3f} s before the watermark"


@dataclass(slots=True)
class AddResult(Generic[E]):
    touched: list[tuple[str, int]] = field(default_factory=list)  #: (key, bucket start)
    late: list[LateEvent[E]] = field(default_factory=list)


class OpenWindows(Generic[S]):
    """States of open windows of one size, by start then key; closes in end order."""

    __slots__ = ("size_us", "_merge", "_by_start", "_starts")

    def __init__(self, size_us: int, merge: Mergeable[S]) -> None:
        self.size_us = size_us
        self._merge = merge
        self._by_start: dict[int, dict[str, S]] = {}
        self._starts: list[int] = []  # heap of the keys of _by_start

    def __len__(self) -> int:
        return sum(len(bucket) for bucket in self._by_start.values())

    def bucket(self, start_us: int) -> dict[str, S]:
        bucket = self._by_start.get(start_us)
        if bucket is None:
            bucket = self._by_start[start_us] = {}
            heapq.heappush(self._starts, start_us)
        return bucket

    def get(self, key: str, start_us: int) -> S | None:
        bucket = self._by_start.get(start_us)
        return None if bucket is None else bucket.get(key)

    def merge_in(self, key: str, start_us: int, state: S) -> None:
        """Merge ``state`` after whatever the window already holds for ``key``."""
        bucket = self.bucket(start_us)
        held = bucket.get(key)
        bucket[key] = state if held is None else self._merge.merge(held, state)

    def of_key(self, key: str) -> list[tuple[int, S]]:
        """One key's open windows, oldest first (few: only windows still open)."""
        return sorted(
            (start, bucket[key]) for start, bucket in self._by_start.items() if key in bucket
        )

    def drop_key(self, key: str) -> None:
        """Forget one key's open windows (its partition moved to another worker)."""
        for bucket in self._by_start.values():
            bucket.pop(key, None)

    def pop_due(self, watermark_us: int | None) -> list[ClosedWindow[S]]:
        closed: list[ClosedWindow[S]] = []
        if watermark_us is None:
            return closed
        size, starts = self.size_us, self._starts
        while starts and starts[0] + size <= watermark_us:
            start = heapq.heappop(starts)
            for key, state in self._by_start.pop(start).items():
                closed.append(ClosedWindow(key, start, start + size, state))
        return closed


class BucketAggregator(Generic[S, E]):
    """The smallest tumbling buckets, fed with events; late events are reported."""

    def __init__(
        self, accumulator: Accumulator[S, E, Any], window: Tumbling, watermark: Watermark
    ) -> None:
        self.accumulator = accumulator
        self.window = window
        self.watermark = watermark
        self._open: OpenWindows[S] = OpenWindows(window.size_us, accumulator)

    @property
    def open_buckets(self) -> int:
        return len(self._open)

    def add_many(self, key: str, events: Iterable[E]) -> AddResult[E]:
        return self.add_batch((key, event) for event in events)

    def add_batch(self, items: Iterable[tuple[str, E]]) -> AddResult[E]:
        """Add events of any keys in arrival order (the watermark moves as they come)."""
        size, watermark = self.window.size_us, self.watermark
        pending: dict[tuple[str, int], list[E]] = {}
        result: AddResult[E] = AddResult()
        for key, event in items:
            ts = event.ts_us
            watermark.observe(ts)
            start = ts - ts % size
            value = watermark.value
            if value is not None and start + size <= value:
                result.late.append(LateEvent(key, event, start + size, value))
                continue
            group = pending.get((key, start))
            if group is None:
                pending[(key, start)] = [event]
            else:
                group.append(event)
        accumulator, initial = self.accumulator, self.accumulator.initialize()
        for (key, start), events in pending.items():
            bucket = self._open.bucket(start)
            bucket[key] = accumulator.add_many(bucket.get(key, initial), events)
        result.touched = list(pending)
        return result

    def state(self, key: str, start_us: int) -> S | None:
        """An open bucket's state (what the table holds for it after a batch)."""
        return self._open.get(key, start_us)

    def restore(self, key: str, start_us: int, state: S) -> None:
        """Reload an open bucket from the table after a restart or rebalance."""
        self._open.merge_in(key, self.window.start(start_us), state)

    def open_of(self, key: str) -> list[tuple[int, S]]:
        """One key's open buckets, oldest first (what its table value stores)."""
        return self._open.of_key(key)

    def drop_key(self, key: str) -> None:
        self._open.drop_key(key)

    def close_due(self) -> list[ClosedWindow[S]]:
        """Every bucket the watermark has closed, in end order; they leave the aggregator."""
        return self._open.pop_due(self.watermark.value)
