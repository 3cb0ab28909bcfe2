"""The synthetic market: seeded, deterministic price paths, trades and books for any symbols.

Each :meth:`SyntheticMarket.step` advances market time by an exponential
gap (mean ``1 / rate``), moves one random instrument's mid price, re-centres
its book there and either prints a trade at the touch or churns a few
levels; instruments whose statistics are due also publish a
:class:`~ingest.simulator.events.StatsUpdate`. Given the seed the event
sequence is the same on every run; exchange timestamps come from ``clock``
(wall time by default). While attached to a started exchange the market
steps itself in real time; tests pause it and call :meth:`step`.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable, Iterable, Sequence

from ingest.simulator.book import SimBook
from ingest.simulator.events import (
    BookUpdate,
    LiquidationPrint,
    SimEvent,
    StatsUpdate,
    TradePrint,
)
from ingest.simulator.instruments import InstrumentSpec
from ingest.simulator.price_path import Anomaly, PricePath
from ingest.simulator.source import SourceBase
from ingest.simulator.symbol_state import SymbolState
from models import Side
from models.exceptions import ConfigError

#: Steps between two flow-control checks of the run loop.
_FLOW_EVERY = 32


class SyntheticMarket(SourceBase):
    """A made-up market for ``symbols`` (canonical: ``BTC-USDT``, ``BTC-USDT-PERP``, ...).

    ``rate`` is market steps a second over all symbols (each a trade or a book
    change, plus the statistics every ``stats_interval`` seconds a symbol).
    ``trades(symbol)`` is the ground truth: every trade published, in order.
    """

    def __init__(
        self,
        symbols: Iterable[str] = ("BTC-USDT",),
        *,
        rate: float = 50.0,
        seed: int = 0,
        anomalies: Iterable[Anomaly] = (),
        volatility: float = 0.8,
        book_depth: int = 200,
        stats_interval: float = 1.0,
        trade_share: float = 0.35,
        liquidation_share: float = 0.01,
        clock: Callable[[], float] = time.time,
        paused: bool = False,
    ) -> None:
        super().__init__(paused=paused)
        names = tuple(dict.fromkeys(symbols))
        if not names:
            raise ConfigError("the synthetic market needs at least one symbol")
        if rate <= 0 or stats_interval <= 0:
            raise ConfigError("rate and stats_interval must be positive")
        script = list(anomalies)
        unknown = {a.symbol for a in script} - set(names)
        if unknown:
            raise ConfigError(f"anomalies on symbols the market lacks: {sorted(unknown)}")
        self.rate = rate
        self.stats_interval = stats_interval
        self.trade_share = trade_share
        self.liquidation_share = liquidation_share
        self.elapsed = 0.0
        self._clock = clock
        self._rng = random.Random(seed)  # noqa: S311 - a reproducible simulation, not secrets
        self._states: dict[str, SymbolState] = {}
        for symbol in names:
            spec = InstrumentSpec.for_symbol(symbol)
            path = PricePath(
                spec.start_price,
                self._rng,
                volatility=volatility,
                anomalies=[a for a in script if a.symbol == symbol],
            )
            book = SimBook(spec, self._rng, depth=book_depth)
            self._states[symbol] = SymbolState(spec, path, book, self._rng, stats_interval)
        self._order = list(self._states.values())
        self._next_gap = self._rng.expovariate(rate)

    # -- what exchanges read ----------------------------------------------------------

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self._states)

    def venue(self) -> str | None:
        return None

    def trades(self, symbol: str) -> Sequence[TradePrint]:
        """Every trade of ``symbol`` published so far, oldest first (ids contiguous)."""
        return self._state(symbol).trades

    def liquidations(self, symbol: str) -> Sequence[LiquidationPrint]:
        return self._state(symbol).liquidations

    def book(self, symbol: str) -> SimBook | None:
        state = self._states.get(symbol)
        return None if state is None else state.book

    def stats(self, symbol: str) -> StatsUpdate | None:
        state = self._states.get(symbol)
        return None if state is None else state.stats(self._now_ms())

    def mid(self, symbol: str) -> float:
        return self._state(symbol).path.mid

    def recorded_snapshot(self, native: str) -> str | None:
        return None

    # -- stepping ---------------------------------------------------------------------

    def step(self, count: int = 1) -> list[SimEvent]:
        """Advance ``count`` steps, publish their events to every listener and return them."""
        events: list[SimEvent] = []
        for _ in range(count):
            events.extend(self._step())
        return events

    def _step(self) -> list[SimEvent]:
        self.elapsed += self._next_gap
        self._next_gap = self._rng.expovariate(self.rate)
        state = self._rng.choice(self._order)
        now = self._now_ms()
        book = state.book
        before = (book.best_bid(), book.best_ask())
        state.move(self.elapsed)
        events: list[SimEvent] = []
        if self._rng.random() < self.trade_share:
            events.extend(self._trade(state, now))
        else:
            book.churn(1 + self._rng.randrange(3))
        collected = book.collect()
        if collected is not None:
            first, bids, asks = collected
            bid, ask = book.top(1)
            events.append(
                BookUpdate(
                    symbol=state.spec.symbol,
                    first_id=first,
                    last_id=book.last_id,
                    bids=tuple(bids),
                    asks=tuple(asks),
                    timestamp=now,
                    best_bid=bid[0] if bid else None,
                    best_ask=ask[0] if ask else None,
                    top_changed=before != (book.best_bid(), book.best_ask()),
                )
            )
        for each in self._order:
            if self.elapsed >= each.next_stats:
                each.next_stats = max(each.next_stats + self.stats_interval, self.elapsed)
                each.refresh()
                events.append(each.stats(now))
        self.publish(events)
        return events

    def _trade(self, state: SymbolState, now: int) -> list[SimEvent]:
        spec, rng = state.spec, self._rng
        buy = rng.random() < 0.5
        notional = 500.0 * rng.lognormvariate(0.0, 1.2)
        taken = state.book.take(buy, spec.lots(notional))
        if taken is None:
            return []
        tick, lots = taken
        liquidation = spec.derivative and rng.random() < self.liquidation_share
        trade = TradePrint(
            symbol=spec.symbol,
            trade_id=state.next_trade_id,
            price=spec.price(tick),
            quantity=spec.size(lots),
            side=Side.BUY if buy else Side.SELL,
            timestamp=now,
            liquidation=liquidation,
        )
        state.record(trade, tick, lots)
        if not liquidation:
            return [trade]
        forced = LiquidationPrint(
            spec.symbol, trade.side, trade.price, trade.quantity, now, trade.trade_id
        )
        state.liquidations.append(forced)
        return [trade, forced]

    # -- running in real time ---------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        origin_wall, origin_market = loop.time(), self.elapsed
        steps = 0
        while True:
            if await self._wait_resumed():
                origin_wall, origin_market = loop.time(), self.elapsed
            delay = origin_wall + (self.elapsed + self._next_gap - origin_market) - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
                if self.paused:
                    continue
            elif delay < -1.0:  # fell behind by a second: carry on from now, no burst
                origin_wall, origin_market = loop.time(), self.elapsed
            self._step()
            steps += 1
            if steps % _FLOW_EVERY == 0:
                await self._flow_control()

    def _now_ms(self) -> int:
        return math.floor(self._clock() * 1000)

    def _state(self, symbol: str) -> SymbolState:
        state = self._states.get(symbol)
        if state is None:
            raise KeyError(f"the market has no symbol {symbol!r}")
        return state
