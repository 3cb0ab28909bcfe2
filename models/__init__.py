"""Normalized market-data models: pure data, no Faust, no I/O.

Every record that crosses Kafka is one of these pydantic v2 models. Prices and
sizes are :class:`decimal.Decimal` parsed from the exchange's own decimal
strings (never through a binary float), so they round-trip exactly; see
``models.numbers`` for the reasoning.
"""

from models.alert import AlertFinding, AlertStatus, PriceAlert, Severity
from models.analytics import WindowStats
from models.base import MarketEvent, Record
from models.book import BookDelta, BookLevel, BookSnapshot
from models.codec import ANY_RECORD, decode, decode_any, encode
from models.derivatives import FundingRate, OpenInterest
from models.exceptions import DecodeError, MarketPrismError
from models.instrument import Instrument, InstrumentType
from models.pipeline_events import DeadLetter, GapEvent
from models.ticker import Ticker
from models.trade import Liquidation, Side, Trade

__all__ = [
    "ANY_RECORD",
    "AlertFinding",
    "AlertStatus",
    "BookDelta",
    "BookLevel",
    "BookSnapshot",
    "DeadLetter",
    "DecodeError",
    "FundingRate",
    "GapEvent",
    "Instrument",
    "InstrumentType",
    "Liquidation",
    "MarketEvent",
    "MarketPrismError",
    "OpenInterest",
    "PriceAlert",
    "Record",
    "Severity",
    "Side",
    "Ticker",
    "Trade",
    "WindowStats",
    "decode",
    "decode_any",
    "encode",
]
