"""How long the demo waits for the worker to archive what is left in Kafka.

After ingest stops, the demo waits until the worker's consumer group has
committed every record of the archived topics (:mod:`app.demo.lag`). How long
that takes depends on how much is left, so there is no fixed limit: the drain
goes on while the records left keep falling, and gives up once they have not
fallen for ``stall_seconds`` (a worker that is stuck or failing its writes),
after ``timeout`` seconds (``--drain-timeout``) however it progresses, or
when the user presses Ctrl-C while it waits.
:class:`Drain` is that decision, fed with the records left per data type and
the time; it does no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

#: No fewer records left for this long: the drain gives up.
STALL_SECONDS = 30.0

Outcome = Literal["drained", "draining", "stalled", "timed_out", "interrupted"]


@dataclass
class Drain:
    """The drain that began at ``started`` (seconds on any monotonic clock)."""

    started: float
    stall_seconds: float = STALL_SECONDS
    timeout: float | None = None
    left: dict[str, int] = field(default_factory=dict)  #: data type -> records left
    first: int | None = None  #: records left at the first look
    lowest: int | None = None  #: fewest records left seen
    lowest_at: float = 0.0  #: when the records left last fell

    def observe(self, now: float, left: Mapping[str, int]) -> Outcome:
        """What to do, given the records left per data type at ``now``."""
        self.left = {name: count for name, count in left.items() if count > 0}
        total = self.total
        if total == 0:
            return "drained"
        if self.first is None:
            self.first = total
        if self.lowest is None or total < self.lowest:
            self.lowest, self.lowest_at = total, now
        if self.timeout is not None and now - self.started >= self.timeout:
            return "timed_out"
        if now - self.lowest_at >= self.stall_seconds:
            return "stalled"
        return "draining"

    @property
    def total(self) -> int:
        return sum(self.left.values())

    def rate(self, now: float) -> float | None:
        """Records archived a second since the drain began (None before any)."""
        elapsed = now - self.started
        if self.first is None or self.lowest is None or elapsed <= 0:
            return None
        return (self.first - self.lowest) / elapsed

    def progress(self, now: float) -> str:
        rate = self.rate(now)
        speed = f" ({rate:,.0f}/s)" if rate else ""
        return f"demo: draining: {self.total:,} records left{speed} (Ctrl-C stops waiting)"

    def incomplete(self, outcome: Outcome, now: float) -> str:
        """Why the drain ended before every record was archived, and what is left."""
        elapsed = now - self.started
        if outcome == "timed_out":
            why = f"--drain-timeout {self.timeout:g}s reached"
        elif outcome == "interrupted":
            why = "Ctrl-C"
        else:
            why = f"no progress for {self.stall_seconds:g}s"
        topics = ", ".join(f"{name} {count:,}" for name, count in sorted(self.left.items()))
        return (
            f"demo: DRAIN INCOMPLETE after {elapsed:.0f}s ({why}): {self.total:,} records "
            f"not archived: {topics}"
        )
