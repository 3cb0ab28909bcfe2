from datetime import date
from decimal import Decimal

import pytest

from models import Instrument, InstrumentType


@pytest.mark.parametrize(
    ("symbol", "kind"),
    [
        ("BTC-USDT", InstrumentType.SPOT),
        ("BTC-USDT-PERP", InstrumentType.PERPETUAL),
        ("BTC-USD-20241227", InstrumentType.FUTURE),
        ("BTC-USD-20241227-60000-C", InstrumentType.OPTION),
        ("ETH-USD-20250328-2500.5-P", InstrumentType.OPTION),
        ("1000SHIB-USDT-PERP", InstrumentType.PERPETUAL),
    ],
)
def test_parse_and_format_roundtrip(symbol: str, kind: InstrumentType) -> None:
    instrument = Instrument.parse(symbol)
    assert instrument.type is kind
    assert instrument.symbol == symbol


def test_option_fields() -> None:
    option = Instrument.parse("BTC-USD-20241227-60000-C")
    assert (option.base, option.quote) == ("BTC", "USD")
    assert option.expiry == date(2024, 12, 27)
    assert option.strike == Decimal("60000")
    assert option.option_type == "C"


@pytest.mark.parametrize(
    "bad", ["BTCUSDT", "btc-usdt", "BTC-USDT-SWAP", "BTC-USD-20241327", "BTC-USD-2024", "", "BTC-"]
)
def test_rejects_non_canonical(bad: str) -> None:
    with pytest.raises(ValueError, match="canonical|expiry"):
        Instrument.parse(bad)
