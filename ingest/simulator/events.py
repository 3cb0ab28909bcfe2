"""What a market source publishes, in no venue's format, and who listens to it.

A source (:class:`~ingest.simulator.market.SyntheticMarket` or
:class:`~ingest.simulator.replay.ReplaySource`) calls ``on_event`` of every
attached listener synchronously, in order; each venue protocol renders the
event into its own wire format at once, so a renderer always sees the
market state right after the event. Times are epoch milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

from ingest.recording import RecordedMessage
from models import Side
from models.book import BookLevel

LevelAction = Literal["new", "change", "delete"]


@dataclass(frozen=True, slots=True)
class TradePrint:
    """One published trade: the ground truth a test compares the pipeline's output with."""

    symbol: str
    trade_id: int
    price: Decimal
    quantity: Decimal
    #: The taker's side.
    side: Side
    timestamp: int
    #: The taker was a forced (liquidation) order.
    liquidation: bool = False


@dataclass(frozen=True, slots=True)
class LevelChange:
    price: Decimal
    #: The new size; 0 removes the level.
    size: Decimal
    action: LevelAction


@dataclass(frozen=True, slots=True)
class BookUpdate:
    """The book changes of one market step, numbered ``first_id..last_id`` (one id a change)."""

    symbol: str
    first_id: int
    last_id: int
    bids: tuple[LevelChange, ...]
    asks: tuple[LevelChange, ...]
    timestamp: int
    best_bid: BookLevel | None
    best_ask: BookLevel | None
    #: The best bid or ask (price or size) changed.
    top_changed: bool

    @property
    def prev_id(self) -> int:
        """The ``last_id`` of the update before this one."""
        return self.first_id - 1


@dataclass(frozen=True, slots=True)
class StatsUpdate:
    """The periodic state of one instrument: 24 h statistics, marks, funding, open interest.

    Funding and open interest are None for spot; funding is None for dated futures.
    """

    symbol: str
    timestamp: int
    last_price: Decimal
    last_size: Decimal
    open_24h: Decimal
    high_24h: Decimal
    low_24h: Decimal
    volume_24h: Decimal
    quote_volume_24h: Decimal
    trade_count_24h: int
    first_trade_id: int
    last_trade_id: int
    best_bid: BookLevel | None
    best_ask: BookLevel | None
    mark_price: Decimal
    index_price: Decimal
    funding_rate: Decimal | None
    #: When ``funding_rate`` settles (epoch ms); the next one follows 8 h later.
    funding_time: int | None
    open_interest: Decimal | None


@dataclass(frozen=True, slots=True)
class LiquidationPrint:
    """A forced order; ``side`` is the forced order's side (sell: a long was liquidated)."""

    symbol: str
    side: Side
    price: Decimal
    quantity: Decimal
    timestamp: int
    trade_id: int


@dataclass(frozen=True, slots=True)
class RecordedFrame:
    """One received message of a recording, replayed as it was."""

    message: RecordedMessage


SyntheticEvent = TradePrint | BookUpdate | StatsUpdate | LiquidationPrint
SimEvent = SyntheticEvent | RecordedFrame


class BookView(Protocol):
    """The current book of one instrument, as a venue's REST answer or snapshot shows it."""

    @property
    def last_id(self) -> int: ...

    def top(self, depth: int) -> tuple[list[BookLevel], list[BookLevel]]: ...


class MarketListener(Protocol):
    """What a source publishes to (a :class:`~ingest.simulator.server.SimulatedExchange`)."""

    def on_event(self, event: SimEvent) -> None:
        """Called synchronously for every event, in order."""

    async def drained(self) -> None:
        """Return once the listener's outgoing queues are short (flow control)."""


class MarketSource(Protocol):
    """The market data behind one or more simulated exchanges."""

    @property
    def symbols(self) -> tuple[str, ...]:
        """Canonical symbols the source publishes (empty: whatever a recording holds)."""

    def venue(self) -> str | None:
        """The only venue this source can feed (a recording's), or None for any."""

    async def attach(self, listener: MarketListener) -> None: ...

    async def detach(self, listener: MarketListener) -> None: ...

    def client_subscribed(self) -> None:
        """A client of an attached exchange subscribed to something."""

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def book(self, symbol: str) -> BookView | None: ...

    def trades(self, symbol: str) -> Sequence[TradePrint]: ...

    def stats(self, symbol: str) -> StatsUpdate | None: ...

    def recorded_snapshot(self, native: str) -> str | None:
        """A recorded REST depth answer for ``native`` (replay only)."""
