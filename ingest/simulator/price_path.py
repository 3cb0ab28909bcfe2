"""Mid-price paths: geometric Brownian motion with stochastic, regime-switching
volatility, plus scripted anomalies (jump, pump, crash) at known market times."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

from models.exceptions import ConfigError

AnomalyKind = Literal["jump", "pump", "crash"]
SECONDS_PER_YEAR = 365 * 86400
#: Log-volatility mean reversion (per second) and volatility of volatility (per sqrt s).
_VOL_REVERSION = 1 / 300
_VOL_OF_VOL = 0.05
#: Regime switch rates (per second) and the turbulent regime's volatility multiple.
_TO_TURBULENT = 1 / 900
_TO_CALM = 1 / 120
_TURBULENCE = 3.0


@dataclass(frozen=True, slots=True)
class Anomaly:
    """A scripted move of ``symbol`` starting ``at`` market seconds after the start.

    - ``jump``: the price moves ``pct`` percent at once and stays (negative: down);
    - ``pump``: it rises ``pct`` percent over ``duration`` seconds, then falls back
      over as long again;
    - ``crash``: it falls ``pct`` percent over ``duration`` seconds and stays there.
    """

    at: float
    symbol: str
    kind: AnomalyKind
    pct: float
    duration: float = 10.0

    def __post_init__(self) -> None:
        if self.kind not in get_args(AnomalyKind):
            raise ConfigError(f"anomaly kind must be jump, pump or crash, not {self.kind!r}")
        if self.at < 0 or self.duration < 0:
            raise ConfigError("an anomaly's time and duration must not be negative")
        if not -100 < self.pct or (self.kind == "crash" and abs(self.pct) >= 100):
            raise ConfigError(f"an anomaly cannot move a price by {self.pct}%")
        if self.kind == "pump" and self.duration <= 0:
            raise ConfigError("a pump needs a positive duration")

    @classmethod
    def parse(cls, text: str) -> Anomaly:
        """``AT:SYMBOL:KIND:PCT[:DURATION]``, e.g. ``60:BTC-USDT:jump:5``."""
        parts = text.split(":")
        if len(parts) not in (4, 5):
            raise ConfigError(f"anomaly {text!r} is not AT:SYMBOL:KIND:PCT[:DURATION]")
        try:
            numbers = [float(part) for part in (parts[0], parts[3], *parts[4:])]
        except ValueError as exc:
            raise ConfigError(f"anomaly {text!r}: {exc}") from exc
        kind: AnomalyKind = parts[2]  # type: ignore[assignment]  # checked in __post_init__
        return cls(numbers[0], parts[1], kind, *numbers[1:])

    def offset(self, t: float) -> float:
        """The log-price offset this anomaly adds at market time ``t``."""
        if t < self.at:
            return 0.0
        if self.kind == "jump":
            return math.log1p(self.pct / 100)
        progress = (t - self.at) / self.duration if self.duration > 0 else 2.0
        if self.kind == "crash":
            return math.log1p(-abs(self.pct) / 100) * min(progress, 1.0)
        size = math.log1p(abs(self.pct) / 100)
        return size * max(1.0 - abs(1.0 - progress), 0.0)


class PricePath:
    """The mid price of one instrument over market time (seconds since the start).

    ``volatility`` is annualized (0.8 = 80 %); the instantaneous volatility
    wanders around it (mean-reverting log-volatility) and triples while the
    path is in its turbulent regime.
    """

    def __init__(
        self,
        start: float,
        rng: random.Random,
        *,
        volatility: float,
        anomalies: Iterable[Anomaly] = (),
    ) -> None:
        if start <= 0 or volatility < 0:
            raise ConfigError("a price path needs a positive start and a non-negative volatility")
        self._log_price = math.log(start)
        self._sigma = volatility / math.sqrt(SECONDS_PER_YEAR)
        self._log_vol = 0.0
        self._turbulent = False
        self._rng = rng
        self._anomalies = tuple(anomalies)
        self._t = 0.0
        self.mid = start

    @property
    def turbulent(self) -> bool:
        return self._turbulent

    def advance(self, t: float) -> float:
        """Move the path to market time ``t`` (never backwards) and return the mid."""
        dt = t - self._t
        if dt > 0:
            rng = self._rng
            root = math.sqrt(dt)
            switch = _TO_CALM if self._turbulent else _TO_TURBULENT
            if rng.random() < -math.expm1(-switch * dt):
                self._turbulent = not self._turbulent
            self._log_vol += -_VOL_REVERSION * self._log_vol * dt
            self._log_vol += _VOL_OF_VOL * root * rng.gauss(0.0, 1.0)
            sigma = self._sigma * math.exp(self._log_vol)
            if self._turbulent:
                sigma *= _TURBULENCE
            self._log_price += -0.5 * sigma * sigma * dt + sigma * root * rng.gauss(0.0, 1.0)
            self._t = t
        shift = sum(anomaly.offset(t) for anomaly in self._anomalies)
        self.mid = math.exp(self._log_price + shift)
        return self.mid
