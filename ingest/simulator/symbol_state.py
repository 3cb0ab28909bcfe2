"""The synthetic market's state of one instrument: path, book, trades and statistics."""

from __future__ import annotations

import math
import random
from decimal import Decimal

from ingest.simulator.book import SimBook
from ingest.simulator.events import LiquidationPrint, StatsUpdate, TradePrint
from ingest.simulator.instruments import InstrumentSpec
from ingest.simulator.price_path import PricePath
from models import InstrumentType

FUNDING_PERIOD_MS = 8 * 3600 * 1000
_FUNDING_MEAN = 0.0001


def decimal_text(value: float, decimals: int) -> Decimal:
    """A float rounded to ``decimals`` places, as an exact Decimal."""
    return Decimal(f"{value:.{decimals}f}")


class SymbolState:
    def __init__(
        self,
        spec: InstrumentSpec,
        path: PricePath,
        book: SimBook,
        rng: random.Random,
        stats_interval: float,
    ) -> None:
        self.spec = spec
        self.path = path
        self.book = book
        self.trades: list[TradePrint] = []
        self.liquidations: list[LiquidationPrint] = []
        self.first_trade_id = rng.randrange(10**6, 10**8)
        self.next_trade_id = self.first_trade_id
        self.next_stats = rng.uniform(0.0, stats_interval)
        self._rng = rng
        start = spec.start_price
        self._open = spec.ticks(start * math.exp(rng.gauss(0.0, 0.02)))
        self._high = self._low = self._open
        self._base_volume = 50e6 / spec.base_usd * rng.lognormvariate(0.0, 0.5)
        self._quote_volume = self._base_volume * start
        self._premium = 0.0
        self._funding = _FUNDING_MEAN
        self._open_interest_usd = 200e6 * rng.lognormvariate(0.0, 0.3)
        self.move(0.0)
        book.settle()

    def move(self, t: float) -> None:
        """Advance the mid price to market time ``t`` and re-centre the book on it."""
        mid = self.path.advance(t) / self.spec.tick
        spread = 1 if self._rng.random() < 0.7 else 2
        bid = max(math.floor(mid - spread / 2), 1)
        self.book.recenter(bid, bid + spread)

    def record(self, trade: TradePrint, tick: int, lots: int) -> None:
        self.trades.append(trade)
        self.next_trade_id += 1
        self._high, self._low = max(self._high, tick), min(self._low, tick)
        amount = lots * self.spec.lot
        price = tick * self.spec.tick
        if self.spec.inverse:
            self._base_volume += amount / price
            self._quote_volume += amount
        else:
            self._base_volume += amount
            self._quote_volume += amount * price

    def refresh(self) -> None:
        """The periodic random moves of the mark premium, funding rate and open interest."""
        rng = self._rng
        self._premium = 0.8 * self._premium + rng.gauss(0.0, 0.0001)
        self._funding = _FUNDING_MEAN + 0.98 * (self._funding - _FUNDING_MEAN)
        self._funding = min(max(self._funding + rng.gauss(0.0, 0.00001), -0.00375), 0.00375)
        self._open_interest_usd *= math.exp(rng.gauss(0.0, 0.002))

    def stats(self, now: int) -> StatsUpdate:
        """The current statistics (no randomness: REST answers may ask at any time)."""
        spec = self.spec
        bids, asks = self.book.top(1)
        mid = self.path.mid
        last = self.trades[-1] if self.trades else None
        derivative = spec.derivative
        perpetual = spec.type is InstrumentType.PERPETUAL
        return StatsUpdate(
            symbol=spec.symbol,
            timestamp=now,
            last_price=last.price if last else spec.price(spec.ticks(mid)),
            last_size=last.quantity if last else spec.size(1),
            open_24h=spec.price(self._open),
            high_24h=spec.price(max(self._high, self._open)),
            low_24h=spec.price(min(self._low, self._open)),
            volume_24h=decimal_text(self._base_volume, 4),
            quote_volume_24h=decimal_text(self._quote_volume, 2),
            trade_count_24h=self.next_trade_id - self.first_trade_id,
            first_trade_id=self.first_trade_id,
            last_trade_id=self.next_trade_id - 1,
            best_bid=bids[0] if bids else None,
            best_ask=asks[0] if asks else None,
            mark_price=spec.price(spec.ticks(mid * (1 + self._premium))),
            index_price=spec.price(spec.ticks(mid)),
            funding_rate=decimal_text(self._funding, 8) if perpetual else None,
            funding_time=(now // FUNDING_PERIOD_MS + 1) * FUNDING_PERIOD_MS if perpetual else None,
            open_interest=spec.size(spec.lots(self._open_interest_usd)) if derivative else None,
        )
