"""Views in, alerts out: detectors -> combiner -> lifecycle, per symbol."""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping

from agents.detection.change import PriceChange, PriceJump
from agents.detection.combiner import PRICE_CHANGE, AlertCombiner
from agents.detection.config import DetectionConfig
from agents.detection.cross_venue import CrossVenueBoard, CrossVenueDivergence, asset_key
from agents.detection.finding import Detector, Finding
from agents.detection.level import PriceZScore, RobustZScore
from agents.detection.lifecycle import AlertLifecycle, AlertState, Subject
from agents.detection.trend import MovingAverageDeviation
from agents.detection.volume import VolumeSpike
from models.alert import PriceAlert
from models.pipeline_events import GapEvent
from tables.sliding import DetectorView


class DetectionEngine:
    """Stateless apart from its configuration (and the optional cross-venue board):
    each symbol's :class:`AlertState` is the caller's (a table value per key)."""

    def __init__(
        self, config: DetectionConfig | None = None, *, board: CrossVenueBoard | None = None
    ) -> None:
        self.config = config = config or DetectionConfig()
        self.board = board
        self.combiner = AlertCombiner(
            resolve_ratio=config.resolve_ratio,
            min_families=config.min_families,
            standalone_families=config.standalone_families,
        )
        self.lifecycle = AlertLifecycle(config.lifecycle)
        self._detectors: dict[str, tuple[Detector[DetectorView], ...]] = {}
        self._cross: dict[str, CrossVenueDivergence] = {}

    def detectors(self, symbol: str) -> tuple[Detector[DetectorView], ...]:
        cls = self.config.class_of(symbol)
        built = self._detectors.get(cls)
        if built is None:
            built = self._detectors[cls] = self._build(cls)
        return built

    def _build(self, cls: str) -> tuple[Detector[DetectorView], ...]:
        c, th = self.config, self.config.classes[cls]
        n = c.min_samples
        ma = {
            "short_seconds": c.sma_short_seconds,
            "fast_half_life_seconds": c.ewma_fast_half_life_seconds,
            "slow_half_life_seconds": c.ewma_slow_half_life_seconds,
        }
        return (
            PriceZScore(th, n),
            RobustZScore(th, n),
            PriceJump(th.jump, n),
            PriceChange(PRICE_CHANGE, th.window_change, n),
            PriceChange(
                f"{PRICE_CHANGE}_{c.short_seconds:.0f}s",
                th.short_change,
                n,
                c.short_seconds,
                efficiency=c.short_change_efficiency,
            ),
            MovingAverageDeviation("sma", th, n, **ma),
            MovingAverageDeviation("ewma", th, n, **ma),
            VolumeSpike(th, n, c.volume_seconds),
        )

    def findings(self, view: DetectorView) -> list[Finding]:
        """Every detector's measurement (``report_at=0``: below threshold too)."""
        found = [d.update(view, report_at=0.0) for d in self.detectors(view.symbol)]
        found.append(self._cross_venue(view))
        return [f for f in found if f is not None]

    def _cross_venue(self, view: DetectorView) -> Finding | None:
        asset = asset_key(view.symbol)
        if self.board is None or asset is None:
            return None
        ts = view.latest.last_us
        self.board.update(view.key, asset, view.price, ts)
        cross_view = self.board.view(view.key, asset, ts, view.volatility)
        if cross_view is None:
            return None
        cls = self.config.class_of(view.symbol)
        detector = self._cross.get(cls)
        if detector is None:
            detector = self._cross[cls] = CrossVenueDivergence(self.config.classes[cls])
        return detector.update(cross_view, report_at=0.0)

    def evaluate(
        self, state: AlertState, view: DetectorView
    ) -> tuple[AlertState, list[PriceAlert]]:
        """One closed bucket of one symbol: the new state and the alerts to publish."""
        assessment = self.combiner.combine(self.findings(view))
        subject = Subject(view.exchange, view.symbol, view.price, view.view_seconds)
        return self.lifecycle.step(state, assessment, subject, view.end_us)

    def on_gap(self, state: AlertState, gap: GapEvent) -> AlertState:
        return self.lifecycle.on_gap(state, gap)

    def evaluate_all(
        self, states: MutableMapping[str, AlertState], views: Iterable[DetectorView]
    ) -> list[PriceAlert]:
        """Convenience for a process that holds every symbol (the backtest)."""
        alerts: list[PriceAlert] = []
        for view in views:
            state, emitted = self.evaluate(states.get(view.key, AlertState()), view)
            states[view.key] = state
            alerts.extend(emitted)
        return alerts
