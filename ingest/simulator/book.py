"""The synthetic order book of one instrument: whole ticks -> whole lots on each side.

The book follows the market's mid price (:meth:`SimBook.recenter`), loses
size to trades at the touch (:meth:`SimBook.take`) and churns randomly
(:meth:`SimBook.churn`). Every change of a step is collected and handed out
by :meth:`SimBook.collect`, which numbers it with consecutive update ids the
way the venues do (Binance ``U``..``u``, OKX ``seqId``, Deribit ``change_id``).
"""

from __future__ import annotations

import random
from bisect import bisect_left, insort

from ingest.simulator.events import LevelAction, LevelChange
from ingest.simulator.instruments import InstrumentSpec
from models.book import BookLevel

#: OKX's ``books`` snapshot holds 400 levels a side; a deeper book would make
#: its 400-level view (and so its checksum) differ from the whole book.
MAX_DEPTH = 400


class _Side:
    """Price (ticks) -> size (lots), with the prices kept sorted best first."""

    __slots__ = ("_keys", "_sign", "sizes")

    def __init__(self, *, bids: bool) -> None:
        self._sign = -1 if bids else 1
        self.sizes: dict[int, int] = {}
        self._keys: list[int] = []

    def __len__(self) -> int:
        return len(self.sizes)

    def set(self, tick: int, lots: int) -> None:
        if lots > 0:
            if tick not in self.sizes:
                insort(self._keys, tick * self._sign)
            self.sizes[tick] = lots
        elif self.sizes.pop(tick, None) is not None:
            del self._keys[bisect_left(self._keys, tick * self._sign)]

    def at(self, index: int) -> int:
        """The price of the ``index``-th best level (-1: the worst)."""
        return self._keys[index] * self._sign

    def best(self, n: int) -> list[tuple[int, int]]:
        ticks = [key * self._sign for key in self._keys[:n]]
        return [(tick, self.sizes[tick]) for tick in ticks]


class SimBook:
    """The book of one instrument; ``last_id`` is the id of the last change published."""

    def __init__(self, spec: InstrumentSpec, rng: random.Random, *, depth: int) -> None:
        if not 1 <= depth <= MAX_DEPTH:
            raise ValueError(f"book depth must be 1..{MAX_DEPTH}, not {depth}")
        self.spec = spec
        self.depth = depth
        self.last_id = rng.randrange(10**6, 10**9)
        self._rng = rng
        self._bids = _Side(bids=True)
        self._asks = _Side(bids=False)
        #: Mean distance between levels, in ticks (about half a basis point).
        self._gap = max(round(spec.start_price * 0.00005 / spec.tick), 1)
        self._level_lots = spec.lots(20_000.0)
        #: (is_bid, tick) -> whether the level existed before this step.
        self._touched: dict[tuple[bool, int], bool] = {}

    # -- reading -------------------------------------------------------------------

    def best_bid(self) -> tuple[int, int] | None:
        top = self._bids.best(1)
        return top[0] if top else None

    def best_ask(self) -> tuple[int, int] | None:
        top = self._asks.best(1)
        return top[0] if top else None

    def top(self, depth: int) -> tuple[list[BookLevel], list[BookLevel]]:
        """The best ``depth`` levels a side as exact (price, size), best first."""
        return self._levels(self._bids, depth), self._levels(self._asks, depth)

    def level_count(self) -> tuple[int, int]:
        return len(self._bids), len(self._asks)

    def _levels(self, side: _Side, depth: int) -> list[BookLevel]:
        price, size = self.spec.price, self.spec.size
        return [(price(tick), size(lots)) for tick, lots in side.best(depth)]

    # -- changing ------------------------------------------------------------------

    def recenter(self, bid: int, ask: int) -> None:
        """Make ``bid``/``ask`` (ticks) the best levels and keep ``depth`` levels a side."""
        for side, is_bid, touch in ((self._bids, True, bid), (self._asks, False, ask)):
            while len(side) and (side.at(0) > touch if is_bid else side.at(0) < touch):
                self._set(is_bid, side.at(0), 0)
            if touch not in side.sizes:
                self._set(is_bid, touch, self._random_lots())
            self._trim(side, is_bid)
            while len(side) < self.depth:
                step = 1 + self._rng.randrange(2 * self._gap)
                worst = side.at(-1)
                price = worst - step if is_bid else worst + step
                if price <= 0:
                    break
                self._set(is_bid, price, self._random_lots())

    def take(self, buy: bool, lots: int) -> tuple[int, int] | None:
        """A taker order of up to ``lots`` against the touch: (price, lots filled)."""
        side = self._asks if buy else self._bids
        if not len(side):
            return None
        tick = side.at(0)
        filled = min(lots, side.sizes[tick])
        self._set(not buy, tick, side.sizes[tick] - filled)
        return tick, filled

    def churn(self, changes: int) -> None:
        """Resize, remove or add a few levels, mostly near the touch."""
        for _ in range(changes):
            is_bid = self._rng.random() < 0.5
            side = self._bids if is_bid else self._asks
            if len(side) < 2:
                continue
            index = min(int(self._rng.expovariate(0.15)), len(side) - 1)
            tick = side.at(index)
            roll = self._rng.random()
            if roll < 0.6:
                self._set(is_bid, tick, self._random_lots())
            elif roll < 0.8 and index > 0:
                self._set(is_bid, tick, 0)
            else:
                neighbour = side.at(max(index - 1, 0))
                between = (tick + neighbour) // 2
                if between not in side.sizes and between != tick:
                    self._set(is_bid, between, self._random_lots())
                    self._trim(side, is_bid)

    def collect(self) -> tuple[int, list[LevelChange], list[LevelChange]] | None:
        """The changes since the last call, numbered: (first id, bids, asks); None if none."""
        bids: list[LevelChange] = []
        asks: list[LevelChange] = []
        for (is_bid, tick), existed in self._touched.items():
            side = self._bids if is_bid else self._asks
            lots = side.sizes.get(tick, 0)
            action: LevelAction = "change" if existed else "new"
            if not lots:
                if not existed:
                    continue  # added and removed within the step
                action = "delete"
            change = LevelChange(self.spec.price(tick), self.spec.size(lots), action)
            (bids if is_bid else asks).append(change)
        self._touched.clear()
        bids.sort(key=lambda change: change.price, reverse=True)
        asks.sort(key=lambda change: change.price)
        count = len(bids) + len(asks)
        if not count:
            return None
        first = self.last_id + 1
        self.last_id += count
        return first, bids, asks

    def settle(self) -> None:
        """Take the current levels as the starting book: no changes to publish."""
        self._touched.clear()

    def _trim(self, side: _Side, is_bid: bool) -> None:
        while len(side) > self.depth:
            self._set(is_bid, side.at(-1), 0)

    def _set(self, is_bid: bool, tick: int, lots: int) -> None:
        side = self._bids if is_bid else self._asks
        self._touched.setdefault((is_bid, tick), tick in side.sizes)
        side.set(tick, lots)

    def _random_lots(self) -> int:
        return max(round(self._level_lots * self._rng.lognormvariate(0.0, 1.0)), 1)
