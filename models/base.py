"""Fields every market-data record shares."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from models.instrument import Instrument, InstrumentType
from models.numbers import UtcDatetime

#: Exchange ids are lower-case words: ``binance``, ``binance_futures``, ``okx``, ``deribit``.
EXCHANGE_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"


class Record(BaseModel):
    """Base of every Kafka record: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_timedelta="float")


class SymbolRecord(Record):
    """A record about one instrument on one exchange, keyed ``exchange:symbol``."""

    exchange: str = Field(pattern=EXCHANGE_PATTERN)
    symbol: str = Field(description="canonical symbol, e.g. BTC-USDT or BTC-USDT-PERP")

    @field_validator("symbol")
    @classmethod
    def _canonical(cls, value: str) -> str:
        Instrument.parse(value)
        return value

    @property
    def key(self) -> str:
        """The Kafka key: one symbol's events stay ordered on one partition."""
        return f"{self.exchange}:{self.symbol}"


class MarketEvent(SymbolRecord):
    """An event from an exchange about one instrument.

    ``timestamp`` is the exchange's event time and ``collected_at`` the local
    receive time; both are required and neither stands in for the other.
    """

    native_symbol: str = Field(min_length=1, description="the exchange's own symbol")
    instrument_type: InstrumentType
    timestamp: UtcDatetime = Field(description="exchange event time (UTC)")
    collected_at: UtcDatetime = Field(description="local receive time (UTC)")

    @model_validator(mode="after")
    def _symbol_matches_type(self) -> Self:
        instrument = Instrument.parse(self.symbol)
        if instrument.type is not self.instrument_type:
            raise ValueError(
                f"symbol {self.symbol!r} is a {instrument.type.value} symbol, "
                f"but instrument_type is {self.instrument_type.value!r}"
            )
        return self
