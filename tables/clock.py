"""Injectable clocks: "now" for anything windowed comes from one of these, never from
``time.time()`` directly, so a replay of old data and a test control time."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Something that says what time it is, in epoch microseconds (UTC)."""

    def now_us(self) -> int: ...


class SystemClock:
    """The wall clock (live workers)."""

    def now_us(self) -> int:
        return time.time_ns() // 1000


class ManualClock:
    """A clock that moves only when told to (tests, backtests)."""

    def __init__(self, start_us: int = 0) -> None:
        self._now_us = start_us

    def now_us(self) -> int:
        return self._now_us

    def set(self, now_us: int) -> None:
        if now_us < self._now_us:
            raise ValueError("a ManualClock never goes backwards")
        self._now_us = now_us

    def advance(self, seconds: float) -> None:
        self.set(self._now_us + round(seconds * 1_000_000))
