"""A local exchange simulator: Binance (spot, USD-M), OKX and Deribit on 127.0.0.1.

It speaks each venue's real public protocol (WebSocket and REST), so the
real adapters connect to it unchanged with their base URLs pointed at it.
Market data comes from a seeded :class:`SyntheticMarket` (with scripted
anomalies and the ground truth of every trade) or a :class:`ReplaySource`;
:class:`~ingest.simulator.faults.Faults` injects the failures real venues show.
"""

from ingest.simulator.events import (
    BookUpdate,
    LiquidationPrint,
    MarketSource,
    StatsUpdate,
    TradePrint,
)
from ingest.simulator.faults import Faults
from ingest.simulator.market import SyntheticMarket
from ingest.simulator.price_path import Anomaly
from ingest.simulator.replay import ReplaySource
from ingest.simulator.server import SimulatedExchange
from ingest.simulator.stats import SimStats

__all__ = [
    "Anomaly",
    "BookUpdate",
    "Faults",
    "LiquidationPrint",
    "MarketSource",
    "ReplaySource",
    "SimStats",
    "SimulatedExchange",
    "StatsUpdate",
    "SyntheticMarket",
    "TradePrint",
]
