"""The server side of each venue's protocol, by exchange id (as in ``ingest.registry``)."""

from __future__ import annotations

from ingest.simulator.protocols.base import VenueProtocol
from ingest.simulator.protocols.binance import BinanceProtocol
from ingest.simulator.protocols.binance_futures import BinanceFuturesProtocol
from ingest.simulator.protocols.deribit import DeribitProtocol
from ingest.simulator.protocols.okx import OkxProtocol

PROTOCOLS: dict[str, type[VenueProtocol]] = {
    "binance": BinanceProtocol,
    "binance_futures": BinanceFuturesProtocol,
    "okx": OkxProtocol,
    "deribit": DeribitProtocol,
}

__all__ = ["PROTOCOLS", "VenueProtocol"]
