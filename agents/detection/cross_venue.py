"""The same asset on several venues: one venue drifting away from the others.

Symbols are normalized to ``BASE-USD`` over USD-like quotes, spot and
perpetuals only (dated futures carry a basis): ``binance:BTC-USDT``,
``okx:BTC-USDT``, ``okx:BTC-USDT-PERP`` and ``deribit:BTC-USD-PERP`` all price
``BTC-USD``; an index (Deribit's ``index_price``) joins as its own source, e.g.
``deribit:index``. A USDT or USDC depeg moves every USDT pair together, which
the floor of the class's divergence band (0.3 % for majors) absorbs.

Venues of one asset live on different partitions, so in a worker the board is
fed from the analytics topic re-keyed by asset; the backtest feeds it directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from statistics import median

from agents.detection.config import USD_LIKE, ClassThresholds
from agents.detection.finding import Finding, direction_of
from models.instrument import Instrument, InstrumentType
from tables.tick import SECOND_US


@lru_cache(maxsize=65_536)
def asset_key(symbol: str) -> str | None:
    """``BTC-USDT``, ``BTC-USD-PERP`` -> ``BTC-USD``; ``None`` when not comparable."""
    instrument = Instrument.parse(symbol)
    comparable = instrument.type in (InstrumentType.SPOT, InstrumentType.PERPETUAL)
    if comparable and instrument.quote in USD_LIKE and instrument.base not in USD_LIKE:
        return f"{instrument.base}-USD"
    return None


@dataclass(frozen=True, slots=True)
class VenueQuote:
    source: str  #: ``exchange:symbol`` or an index such as ``deribit:index``
    price: float
    ts_us: int


@dataclass(frozen=True, slots=True)
class CrossVenueView:
    asset: str
    focus: VenueQuote
    others: tuple[VenueQuote, ...]  #: fresh quotes of the other sources
    regime_volatility: float | None  #: the focus symbol's, per second


class CrossVenueBoard:
    """Latest price per source per asset (event time; an older quote never replaces a newer)."""

    def __init__(self, max_age_seconds: float = 5.0) -> None:
        self.max_age_us = round(max_age_seconds * SECOND_US)
        self._quotes: dict[str, dict[str, VenueQuote]] = {}

    def update(self, source: str, asset: str, price: float, ts_us: int) -> None:
        quotes = self._quotes.setdefault(asset, {})
        held = quotes.get(source)
        if held is None or ts_us >= held.ts_us:
            quotes[source] = VenueQuote(source, price, ts_us)

    def view(
        self, source: str, asset: str, ts_us: int, regime_volatility: float | None = None
    ) -> CrossVenueView | None:
        """The focus source against the others quoted within ``max_age`` of ``ts_us``."""
        quotes = self._quotes.get(asset, {})
        focus = quotes.get(source)
        if focus is None:
            return None
        others = tuple(
            q for s, q in quotes.items() if s != source and abs(ts_us - q.ts_us) <= self.max_age_us
        )
        return CrossVenueView(asset, focus, others, regime_volatility) if others else None


class CrossVenueDivergence:
    name = "cross_venue"
    family = "cross_venue"

    def __init__(self, thresholds: ClassThresholds) -> None:
        self.band = thresholds.divergence

    def update(self, view: CrossVenueView, *, report_at: float = 1.0) -> Finding | None:
        # The median of every source, the focus included: with three venues and one
        # off, only that one deviates (with two, both do: it cannot tell which).
        reference = median([view.focus.price, *(q.price for q in view.others)])
        deviation = (view.focus.price / reference - 1.0) * 100.0
        lag = max(abs(view.focus.ts_us - q.ts_us) for q in view.others) / SECOND_US
        threshold = self.band.threshold_pct(view.regime_volatility, lag)
        if abs(deviation) < report_at * threshold:
            return None
        sources = ", ".join(sorted(q.source for q in view.others))
        reason = (
            f"Cross-venue divergence: {view.focus.source} {deviation:+.2f}% from the median "
            f"{reference:.8g} of it and {sources} (threshold ±{threshold:.2f}%)"
        )
        return Finding(
            self.name, self.family, deviation, threshold, direction_of(deviation), reason
        )
