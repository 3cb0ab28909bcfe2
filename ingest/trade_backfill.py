"""Filling a trade gap from the venue's REST trade history.

The pages run oldest-first (Binance ``fromId``, Deribit ``start_seq``) or
newest-first (OKX ``after``), as the venue declares; this module only follows
the cursor. Every trade of the gap that the live stream has not delivered
meanwhile is published once; what the history cannot provide is a gap event.
The caller gets a :class:`Backfilled`: trades added, trades lost, and why the
history failed, if it did (the feed records it on its ``/scheduler`` job).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from ingest.rest_client import RestClient, RestError
from ingest.trade_continuity import OpenRange, TradeContinuity
from ingest.venue import Venue
from models import DeadLetter, Record, Trade

logger = logging.getLogger(__name__)

Publish = Callable[[Record], Awaitable[None]]


@dataclass(frozen=True)
class Backfilled:
    """What one backfill did: trades added, trades known lost, and the failure of the
    REST history (None: it answered)."""

    added: int
    lost: int = 0
    error: str | None = None


async def backfill(
    venue: Venue,
    rest: RestClient | None,
    continuity: TradeContinuity,
    symbol: str,
    window: OpenRange,
    *,
    publish: Publish,
    wall: Callable[[], datetime],
    max_trades: int,
) -> Backfilled:
    """Fetch the trades strictly inside ``window`` for ``symbol``. Closes the window
    (publishing a gap event for what stays missing)."""
    path = venue.trade_history_path
    error: str | None
    if path is None or rest is None:
        added, error = 0, "no REST trade history"
    else:
        pager = _Pager(venue, rest, path, continuity, symbol, window, publish, wall)
        added, error = await pager.run(max_trades)
    gap = continuity.close(symbol, window, wall(), failed=error is not None)
    if gap is not None:
        await publish(gap)
    logger.info(
        "%s %s: backfilled %d trades between %d and %d%s",
        venue.name,
        symbol,
        added,
        window.low,
        window.high,
        "" if gap is None else f"; gap: {gap.cause} ({gap.missing} missing)",
    )
    return Backfilled(added, 0 if gap is None else gap.missing or 0, error)


class _Pager:
    def __init__(
        self,
        venue: Venue,
        rest: RestClient,
        path: str,
        continuity: TradeContinuity,
        symbol: str,
        window: OpenRange,
        publish: Publish,
        wall: Callable[[], datetime],
    ) -> None:
        self.venue, self.rest, self.path = venue, rest, path
        self.continuity, self.symbol, self.window = continuity, symbol, window
        self.publish, self.wall = publish, wall
        self.native = venue.to_native(symbol)

    async def run(self, max_trades: int) -> tuple[int, str | None]:
        """(trades added, how the history failed us, or None)."""
        venue, window = self.venue, self.window
        added = fetched = 0
        cursor: int | None = None
        while fetched < max_trades:
            params = venue.trade_history_params(
                self.native, after=window.low, before=window.high, cursor=cursor
            )
            try:
                body = await self.rest.get(self.path, params, weight=venue.trade_history_weight)
            except RestError as exc:
                logger.warning("%s %s: trade backfill failed: %s", venue.name, self.symbol, exc)
                return added, str(exc)
            records = venue.parse_trade_history(body, self.wall(), self.symbol)
            trades = [r for r in records if isinstance(r, Trade) and r.sequence is not None]
            dead = [r for r in records if isinstance(r, DeadLetter)]
            for letter in dead:
                await self.publish(letter)
            if dead:
                return added, f"unreadable trade history: {dead[0].reason}"
            if not trades:
                return added, None
            fetched += len(trades)
            added += await self._take(records, trades)
            sequences = [t.sequence or 0 for t in trades]
            if venue.trade_history_descending:
                cursor = min(sequences)
                if cursor <= window.low + 1:
                    break
            else:
                cursor = max(sequences) + 1
                if cursor >= window.high:
                    break
        return added, None

    async def _take(self, records: list[Record], trades: list[Trade]) -> int:
        """Publish the page's trades of the window that are still missing (oldest
        first), with the liquidations that came with them."""
        accepted: set[str] = set()
        for trade in sorted(trades, key=lambda t: t.sequence or 0):
            sequence = trade.sequence or 0
            if self.window.holds(sequence) and self.continuity.accept(trade, backfilled=True):
                accepted.add(trade.trade_id)
                await self.publish(trade)
        for record in records:
            if not isinstance(record, Trade) and getattr(record, "trade_id", None) in accepted:
                await self.publish(record)
        return len(accepted)
