"""Canonical instrument symbols, one form across exchanges.

=============  ===============================  ==========================
type           canonical symbol                 e.g. native
=============  ===============================  ==========================
spot           ``BASE-QUOTE``                   ``BTCUSDT``, ``BTC-USDT``
perpetual      ``BASE-QUOTE-PERP``              ``BTC-USDT-SWAP``, ``BTC-PERPETUAL``
future         ``BASE-QUOTE-YYYYMMDD``          ``BTC-USD-241227``, ``BTC-27DEC24``
option         ``BASE-QUOTE-YYYYMMDD-STRIKE-C``  ``BTC-27DEC24-60000-C``
=============  ===============================  ==========================

The quote of a perpetual or future is its settlement/quote currency
(USDT for Binance USD-M, USD for coin-margined and Deribit inverse
contracts), so ``BTC-USDT`` (spot) and ``BTC-USDT-PERP`` never collide.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache

from pydantic import BaseModel, ConfigDict

_ASSET = r"[A-Z0-9]{1,20}"
_SYMBOL_RE = re.compile(
    rf"^(?P<base>{_ASSET})-(?P<quote>{_ASSET})"
    r"(?:-(?P<perp>PERP)|-(?P<expiry>\d{8})(?:-(?P<strike>\d+(?:\.\d+)?)-(?P<cp>[CP]))?)?$"
)


class InstrumentType(StrEnum):
    SPOT = "spot"
    PERPETUAL = "perpetual"
    FUTURE = "future"
    OPTION = "option"


class Instrument(BaseModel):
    """A parsed canonical symbol."""

    model_config = ConfigDict(frozen=True)

    base: str
    quote: str
    type: InstrumentType
    expiry: date | None = None
    strike: Decimal | None = None
    option_type: str | None = None  # "C" or "P"

    @property
    def symbol(self) -> str:
        head = f"{self.base}-{self.quote}"
        if self.type is InstrumentType.SPOT:
            return head
        if self.type is InstrumentType.PERPETUAL:
            return f"{head}-PERP"
        if self.expiry is None:
            raise ValueError(f"{self.type} instrument needs an expiry")
        dated = f"{head}-{self.expiry:%Y%m%d}"
        if self.type is InstrumentType.FUTURE:
            return dated
        return f"{dated}-{self.strike}-{self.option_type}"

    @classmethod
    def parse(cls, symbol: str) -> Instrument:
        """Parse a canonical symbol; raise ``ValueError`` naming the problem."""
        return _parse_cached(symbol)


@lru_cache(maxsize=65_536)
def _parse_cached(symbol: str) -> Instrument:
    match = _SYMBOL_RE.match(symbol)
    if match is None:
        raise ValueError(
            f"{symbol!r} is not a canonical symbol "
            "(BASE-QUOTE, BASE-QUOTE-PERP, BASE-QUOTE-YYYYMMDD or BASE-QUOTE-YYYYMMDD-STRIKE-C|P)"
        )
    base, quote = match["base"], match["quote"]
    if match["perp"]:
        return Instrument(base=base, quote=quote, type=InstrumentType.PERPETUAL)
    if match["expiry"] is None:
        return Instrument(base=base, quote=quote, type=InstrumentType.SPOT)
    raw = match["expiry"]
    try:
        expiry = date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
    except ValueError as exc:
        raise ValueError(f"{symbol!r} has an invalid expiry date {raw!r}") from exc
    if match["strike"] is None:
        return Instrument(base=base, quote=quote, type=InstrumentType.FUTURE, expiry=expiry)
    try:
        strike = Decimal(match["strike"])
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only digits
        raise ValueError(f"{symbol!r} has an invalid strike") from exc
    return Instrument(
        base=base,
        quote=quote,
        type=InstrumentType.OPTION,
        expiry=expiry,
        strike=strike,
        option_type=match["cp"],
    )
