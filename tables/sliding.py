"""The detector's sliding view (e.g. the last 5 min, moving every second), derived
from closed 1 s buckets rather than from a hopping table with a 1 s step.

Per key it holds a small ring of the buckets inside the view, pruned by event
time as new buckets arrive (never by the wall clock), in a two-stack sliding
aggregate: the merged state of the whole ring costs O(1) amortized merges per
bucket instead of ``view / bucket`` merges. Of each bucket the ring keeps what
the detectors read of the view: the moments of its trade prices (the
baseline's count, mean and standard deviation), its close and its volume, not
the whole window state (a tenth of the memory). Only non-empty buckets are
stored; the dense per-bucket close and volume series carry the last close
forward over empty seconds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Generic, TypeVar

from tables.accumulator import Mergeable
from tables.buckets import ClosedWindow
from tables.moments import MomentsAccumulator, MomentsState, moments_of
from tables.regime import RecentVolatility, RegimeEstimator, RegimeState
from tables.trade_window import TradeWindowAccumulator, TradeWindowResult, TradeWindowState

S = TypeVar("S")
_MOMENTS = MomentsAccumulator()


class SlidingAggregate(Generic[S]):
    """Ordered (non-commutative) merge over a FIFO of states: push newest, evict oldest.

    The front stack holds the oldest states, each with the merge of itself and
    every newer state in the front stack; the back stack holds the newer ones
    and one running merge. When the front empties, the back is flipped into it.
    """

    __slots__ = ("_acc", "_front", "_back", "_back_agg")

    def __init__(self, accumulator: Mergeable[S]) -> None:
        self._acc = accumulator
        self._front: list[tuple[int, S, S]] = []  # (start, state, suffix merge); top = oldest
        self._back: list[tuple[int, S]] = []
        self._back_agg = accumulator.initialize()

    def __len__(self) -> int:
        return len(self._front) + len(self._back)

    def push(self, start_us: int, state: S) -> None:
        self._back.append((start_us, state))
        self._back_agg = self._acc.merge(self._back_agg, state)

    def oldest_start(self) -> int | None:
        if self._front:
            return self._front[-1][0]
        return self._back[0][0] if self._back else None

    def evict_before(self, start_us: int) -> int:
        """Drop every state that starts before ``start_us``; return how many."""
        dropped = 0
        while (oldest := self.oldest_start()) is not None and oldest < start_us:
            if not self._front:
                self._flip()
            self._front.pop()
            dropped += 1
        return dropped

    def query(self) -> S:
        front = self._front[-1][2] if self._front else self._acc.initialize()
        return self._acc.merge(front, self._back_agg)

    def items(self) -> list[tuple[int, S]]:
        """Oldest first (what a table snapshot stores)."""
        return [(s, st) for s, st, _ in reversed(self._front)] + list(self._back)

    def _flip(self) -> None:
        suffix = self._acc.initialize()
        for start, state in reversed(self._back):
            suffix = self._acc.merge(state, suffix)
            self._front.append((start, state, suffix))
        self._back.clear()
        self._back_agg = self._acc.initialize()


@dataclass(frozen=True, slots=True)
class Baseline:
    """The trade prices of the view before its newest bucket."""

    count: int  #: trades
    mean: float  #: trade-weighted mean price
    std_dev: float  #: of the trade prices (ddof=1)

    @classmethod
    def of(cls, prices: MomentsState) -> Baseline | None:
        """``None`` for no trade."""
        if prices.n == 0:
            return None
        return cls(prices.n, prices.mean, moments_of(prices).std)


@dataclass(frozen=True, slots=True)
class DetectorView:
    """What the detectors see when one key's newest bucket closes."""

    exchange: str
    symbol: str
    end_us: int  #: end of the newest bucket (event time)
    bucket_us: int
    view_us: int
    latest: TradeWindowResult  #: the newest bucket
    baseline: Baseline | None  #: the view before the newest bucket
    closes: tuple[float, ...]  #: per bucket, oldest first, ending with the newest
    volumes: tuple[float, ...]  #: per bucket, 0.0 when no trade
    active_buckets: int  #: non-empty buckets in the view, the newest included
    regime_volatility: float | None  #: per-second, from before the newest bucket
    recent_volatility: float | None = None  #: per-second, the view before the newest bucket
    recent: RecentVolatility = RecentVolatility()  #: how ``recent_volatility`` is measured

    @property
    def volatility(self) -> float | None:
        """What thresholds scale with: the regime, or the recent past when it is wilder
        (``None`` while the regime is unknown: thresholds stay at their caps)."""
        return _larger(self.regime_volatility, self.recent_volatility)

    def volatility_before(self, buckets: int) -> float | None:
        """:attr:`volatility` as it was ``buckets`` before the newest: the scale of a
        move over that horizon that the move itself has not raised."""
        if buckets <= 1:
            return self.volatility
        recent = self.recent.of(self.closes[: max(0, len(self.closes) - buckets)], self.bucket_us)
        return _larger(self.regime_volatility, recent)

    @property
    def key(self) -> str:
        return f"{self.exchange}:{self.symbol}"

    @property
    def price(self) -> float:
        return self.closes[-1]

    @property
    def bucket_seconds(self) -> float:
        return self.bucket_us / 1e6

    @property
    def view_seconds(self) -> float:
        return self.view_us / 1e6


def _larger(regime: float | None, recent: float | None) -> float | None:
    if regime is None or recent is None:
        return regime
    return max(regime, recent)


class _KeyView:
    """One key's ring: the sparse non-empty buckets' price moments, and the dense closes
    and volumes from the oldest of them on (kept as they come, not rebuilt per view)."""

    __slots__ = ("buckets", "series", "regime", "closes", "volumes", "first_us")

    def __init__(self, regime: RegimeState) -> None:
        self.buckets: SlidingAggregate[MomentsState] = SlidingAggregate(_MOMENTS)
        self.series: deque[tuple[int, float, float]] = deque()  # (start, close, volume)
        self.regime = regime
        self.closes: deque[float] = deque()
        self.volumes: deque[float] = deque()
        self.first_us = 0  #: start of ``closes[0]``

    def append(self, start_us: int, close: float, volume: float, bucket_us: int) -> None:
        self.series.append((start_us, close, volume))
        if self.closes:
            last_us = self.first_us + (len(self.closes) - 1) * bucket_us
            if (gap := (start_us - last_us) // bucket_us - 1) > 0:
                self.closes.extend(repeat(self.closes[-1], gap))
                self.volumes.extend(repeat(0.0, gap))
        else:
            self.first_us = start_us
        self.closes.append(close)
        self.volumes.append(volume)

    def evict(self, horizon_us: int, bucket_us: int) -> None:
        """Drop what starts before ``horizon_us``; the dense part then starts at the
        oldest non-empty bucket left."""
        self.buckets.evict_before(horizon_us)
        series = self.series
        while series and series[0][0] < horizon_us:
            series.popleft()
        if not series:
            self.closes.clear()
            self.volumes.clear()
            return
        for _ in range((series[0][0] - self.first_us) // bucket_us):
            self.closes.popleft()
            self.volumes.popleft()
        self.first_us = series[0][0]


def dense_series(
    series: Sequence[tuple[int, float, float]], bucket_us: int
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Sparse (start, close, volume) -> dense closes (carried forward) and volumes."""
    closes: list[float] = []
    volumes: list[float] = []
    previous: int | None = None
    for start, close, volume in series:
        if previous is not None and (gap := (start - previous) // bucket_us - 1) > 0:
            closes.extend([closes[-1]] * gap)
            volumes.extend([0.0] * gap)
        closes.append(close)
        volumes.append(volume)
        previous = start
    return tuple(closes), tuple(volumes)


class SlidingViews:
    """Every key's sliding view; :meth:`push` each closed bucket in end order."""

    def __init__(
        self,
        bucket_us: int,
        view_us: int,
        regime: RegimeEstimator | None = None,
        accumulator: TradeWindowAccumulator | None = None,
        *,
        recent: RecentVolatility | None = None,
    ) -> None:
        if view_us < 2 * bucket_us or view_us % bucket_us:
            raise ValueError("the view must be a whole multiple (>= 2) of the bucket size")
        self.bucket_us, self.view_us = bucket_us, view_us
        self.regime = regime or RegimeEstimator()
        self.accumulator = accumulator or TradeWindowAccumulator()
        self.recent = recent or RecentVolatility()
        self._keys: dict[str, _KeyView] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def push(self, closed: ClosedWindow[TradeWindowState]) -> DetectorView | None:
        """Add a closed non-empty bucket; the view as of its end (``None`` if empty)."""
        latest = self.accumulator.result(closed.state)
        if latest is None:
            return None
        if closed.end_us - closed.start_us != self.bucket_us:
            raise ValueError("push buckets of the view's bucket size")
        view = self._keys.get(closed.key)
        if view is None:
            view = self._keys[closed.key] = _KeyView(self.regime.initialize())
        if view.series and closed.start_us <= view.series[-1][0]:
            raise ValueError("buckets must be pushed in event-time order")
        self._evict(view, closed.end_us - self.view_us)
        baseline = Baseline.of(view.buckets.query())
        close, volume = latest.close_float, float(latest.volume)
        view.append(closed.start_us, close, volume, self.bucket_us)
        closes, volumes = tuple(view.closes), tuple(view.volumes)
        exchange, _, symbol = closed.key.partition(":")
        result = DetectorView(
            exchange=exchange,
            symbol=symbol,
            end_us=closed.end_us,
            bucket_us=self.bucket_us,
            view_us=self.view_us,
            latest=latest,
            baseline=baseline,
            closes=closes,
            volumes=volumes,
            active_buckets=len(view.series),
            regime_volatility=self.regime.volatility(view.regime),
            recent_volatility=self.recent.of(closes[:-1], self.bucket_us),
            recent=self.recent,
        )
        view.buckets.push(closed.start_us, closed.state.prices)
        view.regime = self.regime.update(view.regime, closed.start_us, close)
        return result

    def prune(self, watermark_us: int) -> list[str]:
        """Drop buckets that left the view as of ``watermark_us`` (event time) for idle
        keys too; return the keys left with no bucket. A key's regime is kept."""
        emptied: list[str] = []
        for key, view in self._keys.items():
            if view.series and view.series[-1][0] < watermark_us - self.view_us:
                self._evict(view, watermark_us - self.view_us)
                emptied.append(key)
        return emptied

    def buckets(self, key: str) -> list[tuple[int, MomentsState]]:
        """One key's buckets in the view, oldest first: their price moments."""
        view = self._keys.get(key)
        return [] if view is None else view.buckets.items()

    def regime_of(self, key: str) -> RegimeState | None:
        view = self._keys.get(key)
        return None if view is None else view.regime

    def restore(
        self, key: str, buckets: Sequence[tuple[int, TradeWindowState]], regime: RegimeState
    ) -> None:
        """Rebuild one key's view from its stored buckets (oldest first) and regime."""
        view = self._keys[key] = _KeyView(regime)
        for start, state in buckets:
            result = self.accumulator.result(state)
            if result is not None:
                view.buckets.push(start, state.prices)
                view.append(start, result.close_float, float(result.volume), self.bucket_us)

    def drop_key(self, key: str) -> None:
        self._keys.pop(key, None)

    def _evict(self, view: _KeyView, horizon_us: int) -> None:
        view.evict(horizon_us, self.bucket_us)
