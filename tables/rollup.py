"""Bigger windows merged from closed smaller ones, instead of adding each event again.

A trade is added once, to its 1 s bucket. When that bucket closes it is merged
into its 1 min tumbling window; a 1 min window that closes is kept (per key, in
a ring of ``size / step`` states) for the hopping windows that contain it, and
a hopping window ``[end - size, end)`` is emitted as the ordered merge of the
ring when the watermark passes ``end``. Faust's hopping table instead writes
``size / step`` keys per event (about 300 events/s for 60 s / 1 s).
"""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

from tables.accumulator import Mergeable
from tables.buckets import ClosedWindow, OpenWindows
from tables.windows import Hopping, Tumbling

S = TypeVar("S")


class TumblingRollup(Generic[S]):
    """Tumbling windows whose size is a multiple of the pushed windows' size."""

    def __init__(self, accumulator: Mergeable[S], window: Tumbling) -> None:
        self.window = window
        self._open: OpenWindows[S] = OpenWindows(window.size_us, accumulator)

    def push(self, closed: ClosedWindow[S]) -> None:
        """Merge a closed smaller window (pushed in end order per key)."""
        start = self.window.start(closed.start_us)
        if closed.end_us > start + self.window.size_us:
            raise ValueError("a pushed window must fit inside one rollup window")
        self._open.merge_in(closed.key, start, closed.state)

    def close_due(self, watermark_us: int | None) -> list[ClosedWindow[S]]:
        return self._open.pop_due(watermark_us)

    def open_of(self, key: str) -> list[tuple[int, S]]:
        return self._open.of_key(key)

    def restore(self, key: str, start_us: int, state: S) -> None:
        self._open.merge_in(key, start_us, state)

    def drop_key(self, key: str) -> None:
        self._open.drop_key(key)


class HoppingRollup(Generic[S]):
    """Hopping windows from closed step-sized tumbling windows."""

    def __init__(self, accumulator: Mergeable[S], hopping: Hopping) -> None:
        self.hopping = hopping
        self._accumulator = accumulator
        self._steps: dict[str, deque[tuple[int, S]]] = {}
        self._next_end: dict[str, int] = {}

    def __len__(self) -> int:
        """Step states held (at most ``size / step`` per key)."""
        return sum(len(steps) for steps in self._steps.values())

    def push(self, closed: ClosedWindow[S]) -> None:
        if closed.end_us - closed.start_us != self.hopping.step_us:
            raise ValueError("push the closed step-sized tumbling windows")
        steps = self._steps.setdefault(closed.key, deque())
        if steps and closed.start_us <= steps[-1][0]:
            raise ValueError("steps must be pushed in event-time order")
        steps.append((closed.start_us, closed.state))
        self._next_end.setdefault(closed.key, closed.end_us)

    def steps_of(self, key: str) -> tuple[list[tuple[int, S]], int | None]:
        """One key's held steps (oldest first) and the end of its next hopping window."""
        return list(self._steps.get(key, ())), self._next_end.get(key)

    def restore(self, key: str, steps: list[tuple[int, S]], next_end: int | None) -> None:
        if not steps or next_end is None:
            self.drop_key(key)
            return
        self._steps[key] = deque(steps)
        self._next_end[key] = next_end

    def drop_key(self, key: str) -> None:
        self._steps.pop(key, None)
        self._next_end.pop(key, None)

    def close_due(self, watermark_us: int | None) -> list[ClosedWindow[S]]:
        """Every non-empty hopping window ending at or before the watermark."""
        closed: list[ClosedWindow[S]] = []
        if watermark_us is None:
            return closed
        for key in list(self._next_end):
            end = self._emit(key, watermark_us, closed)
            if self._steps[key]:
                self._next_end[key] = end
            else:
                del self._steps[key], self._next_end[key]
        return closed

    def _emit(self, key: str, watermark_us: int, out: list[ClosedWindow[S]]) -> int:
        size, step = self.hopping.size_us, self.hopping.step_us
        steps, end = self._steps[key], self._next_end[key]
        while end <= watermark_us:
            while steps and steps[0][0] < end - size:
                steps.popleft()
            if not steps:
                break
            if steps[0][0] >= end:  # nothing in this window: skip to the next step held
                end = steps[0][0] + step
                continue
            state = self._accumulator.initialize()
            for start, held in steps:
                if start >= end:
                    break
                state = self._accumulator.merge(state, held)
            out.append(ClosedWindow(key, end - size, end, state))
            end += step
        return end
