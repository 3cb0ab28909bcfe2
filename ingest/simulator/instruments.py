"""What the synthetic market assumes about an instrument: start price, tick and lot size.

Prices are whole ticks (``10**-price_decimals``) and sizes whole lots
(``10**size_exponent``) inside the simulator, so the book is integer
arithmetic; they become exact Decimals only when rendered. Inverse
contracts (quote ``USD``, not spot) count sizes in 10-USD contracts, as
Deribit's BTC-PERPETUAL does.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from decimal import Decimal

from models import Instrument, InstrumentType
from models.exceptions import ConfigError

#: Plausible start prices in USD; other assets get a stable made-up price.
START_PRICES: dict[str, float] = {
    "BTC": 60000.0,
    "ETH": 3000.0,
    "BNB": 550.0,
    "SOL": 150.0,
    "XRP": 0.55,
    "DOGE": 0.12,
    "ADA": 0.45,
    "AVAX": 30.0,
    "LINK": 14.0,
    "DOT": 6.0,
    "LTC": 80.0,
    "TRX": 0.12,
    "TON": 6.0,
    "NKN": 0.35,
}
_STABLE = frozenset({"USD", "USDT", "USDC", "FDUSD", "TUSD", "BUSD", "DAI", "USDP"})


def usd_price(asset: str) -> float:
    """The start price of ``asset`` in USD."""
    if asset in _STABLE:
        return 1.0
    known = START_PRICES.get(asset)
    if known is not None:
        return known
    return 0.5 + zlib.crc32(asset.encode()) % 2000 / 10  # stable across runs, unlike hash()


@dataclass(frozen=True, slots=True)
class InstrumentSpec:
    symbol: str
    type: InstrumentType
    base: str
    quote: str
    start_price: float
    base_usd: float
    #: USD value of one unit of size: the base asset, or 1 for USD contracts.
    unit_usd: float
    price_decimals: int
    size_exponent: int
    inverse: bool

    @classmethod
    def for_symbol(cls, symbol: str) -> InstrumentSpec:
        instrument = Instrument.parse(symbol)
        if instrument.type is InstrumentType.OPTION:
            raise ConfigError(f"the synthetic market has no options ({symbol!r})")
        base_usd = usd_price(instrument.base)
        price = base_usd / usd_price(instrument.quote)
        inverse = instrument.type is not InstrumentType.SPOT and instrument.quote == "USD"
        base_magnitude = math.floor(math.log10(base_usd))
        return cls(
            symbol=symbol,
            type=instrument.type,
            base=instrument.base,
            quote=instrument.quote,
            start_price=price,
            base_usd=base_usd,
            unit_usd=1.0 if inverse else base_usd,
            price_decimals=min(max(5 - math.floor(math.log10(price)), 0), 8),
            size_exponent=1 if inverse else -min(max(base_magnitude + 1, 0), 8),
            inverse=inverse,
        )

    @property
    def derivative(self) -> bool:
        return self.type is not InstrumentType.SPOT

    @property
    def tick(self) -> float:
        return 10.0**-self.price_decimals

    @property
    def lot(self) -> float:
        return 10.0**self.size_exponent

    def price(self, ticks: int) -> Decimal:
        return Decimal(ticks).scaleb(-self.price_decimals)

    def size(self, lots: int) -> Decimal:
        size = Decimal(lots).scaleb(self.size_exponent)
        return size.quantize(Decimal(1)) if self.size_exponent > 0 else size

    def ticks(self, price: float) -> int:
        return max(round(price / self.tick), 1)

    def lots(self, usd: float) -> int:
        """Whole lots worth about ``usd`` dollars at the start price (at least one)."""
        return max(round(usd / self.unit_usd / self.lot), 1)
