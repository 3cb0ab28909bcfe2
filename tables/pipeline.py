"""All of one stream's windows wired together, with no broker: what the Faust agent
and the backtest both drive.

    trades -> 1 s buckets (grace, late events reported)
           -> closed 1 s buckets -> 1 s tumbling stats, the detector's sliding view,
                                    and merged into 1 min tumbling windows
           -> closed 1 min windows -> 1 min tumbling stats and 5 min / 1 min hopping

Every trade is added once; bigger windows are merges of closed smaller ones.
Nothing closes on its own: :meth:`WindowPipeline.advance` emits whatever the
watermark (event time) has closed. With a clock, :meth:`advance_idle` also
closes windows of a stream that has gone quiet (a worker's timer calls it).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from models.analytics import WindowStats
from tables.buckets import AddResult, BucketAggregator, ClosedWindow
from tables.clock import Clock
from tables.regime import RegimeEstimator
from tables.rollup import HoppingRollup, TumblingRollup
from tables.sliding import DetectorView, SlidingViews
from tables.tick import SECOND_US, Tick, from_epoch_us, seconds_to_us
from tables.trade_window import TradeWindowAccumulator, TradeWindowState
from tables.windows import Hopping, Tumbling, Watermark

if TYPE_CHECKING:
    from app.settings import WindowSettings

log = logging.getLogger(__name__)

Closed = ClosedWindow[TradeWindowState]


@dataclass(frozen=True, slots=True)
class WindowPlan:
    """Window sizes in seconds; every size must be a multiple of the smallest tumbling one."""

    tumbling_seconds: tuple[float, ...] = (1.0, 60.0)
    hopping_seconds: float = 300.0
    hopping_step_seconds: float = 60.0
    view_seconds: float = 300.0
    grace_seconds: float = 5.0
    idle_lag_seconds: float = 2.0  #: how far behind the clock an idle stream's watermark trails
    regime_half_life_seconds: float = 1800.0
    regime_sample_seconds: float = 30.0  #: the regime's return horizon (bid-ask bounce)

    @classmethod
    def from_settings(cls, windows: WindowSettings) -> WindowPlan:
        return cls(
            tumbling_seconds=tuple(sorted(windows.tumbling_seconds)),
            hopping_seconds=windows.hopping_seconds,
            hopping_step_seconds=windows.hopping_step_seconds,
            view_seconds=windows.detector_view_seconds,
            grace_seconds=windows.grace_seconds,
        )

    @property
    def base_us(self) -> int:
        return seconds_to_us(min(self.tumbling_seconds))

    def check(self) -> None:
        base = self.base_us
        sizes = [*self.tumbling_seconds, self.hopping_step_seconds, self.view_seconds]
        for seconds in sizes:
            if seconds_to_us(seconds) % base:
                raise ValueError(f"{seconds} s is not a multiple of the {base / 1e6} s bucket")
        Hopping(seconds_to_us(self.hopping_seconds), seconds_to_us(self.hopping_step_seconds))


@dataclass(slots=True)
class Emissions:
    """What one :meth:`WindowPipeline.advance` closed (in end order per window size)."""

    tumbling: list[Closed] = field(default_factory=list)
    hopping: list[Closed] = field(default_factory=list)
    views: list[DetectorView] = field(default_factory=list)


class WindowPipeline:
    def __init__(self, plan: WindowPlan | None = None, *, clock: Clock | None = None) -> None:
        self.plan = plan = plan or WindowPlan()
        plan.check()
        self.clock = clock
        self.accumulator = acc = TradeWindowAccumulator()
        self.watermark = Watermark(round(plan.grace_seconds * SECOND_US))  # 0 allowed
        self.base = BucketAggregator(acc, Tumbling(plan.base_us), self.watermark)
        sizes = sorted({seconds_to_us(s) for s in plan.tumbling_seconds} - {plan.base_us})
        self.rollups = [TumblingRollup(acc, Tumbling(size)) for size in sizes]
        hopping = Hopping(
            seconds_to_us(plan.hopping_seconds), seconds_to_us(plan.hopping_step_seconds)
        )
        self.hopping = HoppingRollup(acc, hopping)
        # The hopping windows' steps: the base buckets, a published tumbling size, or
        # a private rollup when the step is no published size.
        self._step_rollup = (
            None
            if hopping.step_us == plan.base_us
            else next((r for r in self.rollups if r.window.size_us == hopping.step_us), None)
        )
        self._private: list[TumblingRollup[TradeWindowState]] = []
        if hopping.step_us != plan.base_us and self._step_rollup is None:
            self._step_rollup = TumblingRollup(acc, Tumbling(hopping.step_us))
            self._private.append(self._step_rollup)
        self.views = SlidingViews(
            plan.base_us,
            seconds_to_us(plan.view_seconds),
            RegimeEstimator(
                half_life_seconds=plan.regime_half_life_seconds,
                sample_seconds=plan.regime_sample_seconds,
            ),
            acc,
        )

    def all_rollups(self) -> list[TumblingRollup[TradeWindowState]]:
        """The published tumbling rollups, then the private step rollup (if any)."""
        return [*self.rollups, *self._private]

    def add_many(self, key: str, ticks: Iterable[Tick]) -> AddResult[Tick]:
        """One key's ticks (e.g. one batch grouped by key)."""
        return self.base.add_batch((key, tick) for tick in ticks)

    def add_batch(self, items: Iterable[tuple[str, Tick]]) -> AddResult[Tick]:
        """Ticks of any keys in arrival order; late ones come back in ``.late``."""
        result = self.base.add_batch(items)
        if result.late:
            log.debug("%d late ticks (watermark %s)", len(result.late), self.watermark.value)
        return result

    def advance(self) -> Emissions:
        """Close and emit everything the watermark has passed."""
        out = Emissions()
        watermark = self.watermark.value
        if watermark is None:
            return out
        rollups = [*self.rollups, *self._private]
        for bucket in self.base.close_due():
            out.tumbling.append(bucket)
            if (view := self.views.push(bucket)) is not None:
                out.views.append(view)
            for rollup in rollups:
                rollup.push(bucket)
            if self._step_rollup is None:
                self.hopping.push(bucket)
        for rollup in rollups:
            closed = rollup.close_due(watermark)
            if rollup in self.rollups:
                out.tumbling.extend(closed)
            if rollup is self._step_rollup:
                for window in closed:
                    self.hopping.push(window)
        out.hopping.extend(self.hopping.close_due(watermark))
        self.views.prune(watermark)
        return out

    def advance_idle(self) -> Emissions:
        """Let a quiet stream's windows close by the clock (a live worker's timer)."""
        if self.clock is None:
            raise RuntimeError("advance_idle needs a clock")
        lag = seconds_to_us(self.plan.grace_seconds + self.plan.idle_lag_seconds)
        self.watermark.advance_to(self.clock.now_us() - lag)
        return self.advance()

    def window_stats(self, closed: Closed, *, hopping: bool = False) -> WindowStats | None:
        """The analytics-topic record of a closed window (``None`` if it had no trade)."""
        result = self.accumulator.result(closed.state)
        if result is None:
            return None
        exchange, _, symbol = closed.key.partition(":")
        return result.to_window_stats(
            exchange=exchange,
            symbol=symbol,
            start=from_epoch_us(closed.start_us),
            end=from_epoch_us(closed.end_us),
            kind="hopping" if hopping else "tumbling",
            step_seconds=self.plan.hopping_step_seconds if hopping else None,
        )
