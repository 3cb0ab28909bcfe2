"""The backtest core: ticks and gap events in arrival order -> windows -> detection -> alerts.

The same :class:`~tables.pipeline.WindowPipeline` and
:class:`~agents.detection.engine.DetectionEngine` a worker runs, with no
broker and no Faust. Time is event time only: the watermark follows the
ticks, a :class:`~tables.clock.ManualClock` set to the newest event time
closes the last buckets at the end (as a live worker's idle timer would), and
a gap event takes effect when the views reach its timestamp. Feeding a
stream in batches of any size gives the same alerts as one tick at a time
(the watermark moves tick by tick inside a batch), so :meth:`Backtest.push`
batches for speed.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import count

from agents.detection.cross_venue import CrossVenueBoard
from agents.detection.engine import DetectionEngine
from agents.detection.lifecycle import AlertState
from models.alert import AlertStatus, PriceAlert
from models.pipeline_events import GapEvent
from tables.clock import ManualClock
from tables.pipeline import Emissions, WindowPipeline, WindowPlan
from tables.sliding import DetectorView
from tables.tick import Tick, epoch_us, from_epoch_us, seconds_to_us


def seconds_label(us: int) -> str:
    seconds = us / 1e6
    return f"{seconds:g}s"


@dataclass
class BacktestSummary:
    """What a run saw and did (the backtest's stderr report)."""

    trades: int = 0
    late: int = 0
    gaps: int = 0
    views: int = 0
    first_us: int | None = None
    last_us: int | None = None
    keys: set[str] = field(default_factory=set)
    late_by_key: Counter[str] = field(default_factory=Counter)
    gaps_by_key: Counter[str] = field(default_factory=Counter)
    windows: Counter[str] = field(default_factory=Counter)  #: closed windows by kind and size
    alerts: Counter[str] = field(default_factory=Counter)  #: by status
    firing: Counter[str] = field(default_factory=Counter)  #: firing alerts by severity
    suppressed: Counter[str] = field(default_factory=Counter)  #: moves by cause

    def count_alert(self, alert: PriceAlert) -> None:
        self.alerts[alert.status.value] += 1
        if alert.status is AlertStatus.FIRING:
            self.firing[alert.severity.value] += 1

    def to_dict(self) -> dict[str, object]:
        span = None
        if self.first_us is not None and self.last_us is not None:
            span = {
                "from": from_epoch_us(self.first_us).isoformat(),
                "to": from_epoch_us(self.last_us).isoformat(),
                "hours": round((self.last_us - self.first_us) / 3.6e9, 3),
            }
        return {
            "trades": self.trades,
            "symbols": len(self.keys),
            "span": span,
            "windows": dict(sorted(self.windows.items())),
            "views": self.views,
            "alerts": dict(sorted(self.alerts.items())),
            "firing_by_severity": dict(sorted(self.firing.items())),
            "suppressed_moves": dict(sorted(self.suppressed.items())),
            "late_events": self.late,
            "late_by_key": dict(self.late_by_key.most_common(10)),
            "gaps": self.gaps,
            "gaps_by_key": dict(self.gaps_by_key.most_common(10)),
        }


Event = tuple[str, Tick] | GapEvent  #: ``(exchange:symbol, tick)`` or a gap


class Backtest:
    """Feed events in arrival order (:meth:`push` one at a time, or :meth:`add` a batch
    of ticks and :meth:`gap`), then :meth:`finish`."""

    def __init__(
        self,
        plan: WindowPlan | None = None,
        engine: DetectionEngine | None = None,
        *,
        batch: int = 1000,
    ) -> None:
        self.clock = ManualClock()
        self.pipeline = WindowPipeline(plan, clock=self.clock)
        if engine is None:
            engine = DetectionEngine()
        if engine.board is None:
            engine.board = CrossVenueBoard(engine.config.cross_venue_max_age_seconds)
        self.engine = engine
        self.states: dict[str, AlertState] = {}
        self.summary = BacktestSummary()
        self._gaps: list[tuple[int, int, GapEvent]] = []
        self._order = count()
        self._finished = False
        self._batch_size = batch
        self._pending: list[tuple[str, Tick]] = []

    def push(self, event: Event) -> list[PriceAlert]:
        """One event; ticks are buffered and added ``batch`` at a time."""
        if isinstance(event, GapEvent):
            alerts = self.flush()
            self.gap(event)
            return alerts
        self._pending.append(event)
        return self.flush() if len(self._pending) >= self._batch_size else []

    def flush(self) -> list[PriceAlert]:
        """Add the buffered ticks now."""
        pending, self._pending = self._pending, []
        return self.add(pending)

    def add(self, items: Iterable[tuple[str, Tick]]) -> list[PriceAlert]:
        """A batch of ``(exchange:symbol, tick)``; the alerts the windows it closed raised."""
        if self._finished:
            raise RuntimeError("the backtest has finished")
        batch = items if isinstance(items, list) else list(items)
        if not batch:
            return []
        summary = self.summary
        summary.trades += len(batch)
        summary.keys.update(key for key, _ in batch)
        result = self.pipeline.add_batch(batch)
        for late in result.late:
            summary.late += 1
            summary.late_by_key[late.key] += 1
        newest = self.pipeline.watermark.max_event_us
        if newest is not None:
            first = min(tick.ts_us for _, tick in batch)
            if summary.first_us is None or first < summary.first_us:
                summary.first_us = first
            summary.last_us = newest
            if newest > self.clock.now_us():
                self.clock.set(newest)
        return self._emit(self.pipeline.advance())

    def gap(self, gap: GapEvent) -> None:
        """A data gap or book resync; it quiets alerts from its timestamp on."""
        self.summary.gaps += 1
        self.summary.gaps_by_key[gap.key] += 1
        heapq.heappush(self._gaps, (epoch_us(gap.timestamp), next(self._order), gap))

    def finish(self) -> list[PriceAlert]:
        """Close the last buckets (as the idle timer would) and apply the remaining gaps."""
        if self._finished:
            return []
        alerts = self.flush()
        self._finished = True
        newest = self.pipeline.watermark.max_event_us
        if newest is not None:
            plan = self.pipeline.plan
            lag = seconds_to_us(plan.grace_seconds + plan.idle_lag_seconds) + plan.base_us
            self.clock.set(max(self.clock.now_us(), newest + lag))
            alerts.extend(self._emit(self.pipeline.advance_idle()))
        while self._gaps:
            _, _, gap = heapq.heappop(self._gaps)
            self.states[gap.key] = self.engine.on_gap(self._state(gap.key), gap)
        for state in self.states.values():
            self.summary.suppressed["cooldown"] += state.suppressed_cooldown
            self.summary.suppressed["gap"] += state.suppressed_gap
            self.summary.suppressed["budget"] += state.suppressed_budget
        return alerts

    def _state(self, key: str) -> AlertState:
        state = self.states.get(key)
        return AlertState() if state is None else state

    def _emit(self, emissions: Emissions) -> list[PriceAlert]:
        summary = self.summary
        for closed in emissions.tumbling:
            summary.windows[f"tumbling_{seconds_label(closed.end_us - closed.start_us)}"] += 1
        for closed in emissions.hopping:
            summary.windows[f"hopping_{seconds_label(closed.end_us - closed.start_us)}"] += 1
        alerts: list[PriceAlert] = []
        for view in emissions.views:
            alerts.extend(self._evaluate(view))
        return alerts

    def _evaluate(self, view: DetectorView) -> list[PriceAlert]:
        gaps = self._gaps
        while gaps and gaps[0][0] <= view.end_us:
            _, _, gap = heapq.heappop(gaps)
            self.states[gap.key] = self.engine.on_gap(self._state(gap.key), gap)
        self.summary.views += 1
        state, alerts = self.engine.evaluate(self._state(view.key), view)
        self.states[view.key] = state
        for alert in alerts:
            self.summary.count_alert(alert)
        return alerts
