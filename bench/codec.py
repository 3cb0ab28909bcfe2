"""The Kafka codec: MarketPrism's codec (orjson, pydantic fallback) vs Faust's Record + json codec.

Both sides encode and decode the same trade (exact decimals, aware UTC
timestamps) in the same process and run; prints one JSON object with
microseconds per encode+decode round trip and the wire size.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from decimal import Decimal

import faust
from timing import per_op_us

from app.codecs import CODEC_NAME, register_codec
from models import InstrumentType, Side, Trade, decode, encode


class FaustTrade(faust.Record, serializer="json", coerce=True):
    """The same fields as a Faust Record (Faust's documented way to model values)."""

    exchange: str
    symbol: str
    native_symbol: str
    instrument_type: str
    timestamp: datetime
    collected_at: datetime
    trade_id: str
    price: Decimal
    quantity: Decimal
    side: str
    quote_quantity: Decimal
    is_buyer_maker: bool
    sequence: int | None = None


def main() -> int:
    register_codec()
    trade = Trade(
        exchange="binance",
        symbol="BTC-USDT",
        native_symbol="BTCUSDT",
        instrument_type=InstrumentType.SPOT,
        timestamp=datetime(2024, 8, 9, 0, 0, 1, 343_000, tzinfo=UTC),
        collected_at=datetime(2024, 8, 9, 0, 0, 1, 345_451, tzinfo=UTC),
        trade_id="3735683259",
        price=Decimal("61837.63000000"),
        quantity=Decimal("0.02000000"),
        side=Side.SELL,
        sequence=3735683259,
    )
    data = trade.model_dump(exclude={"type"})
    data["instrument_type"] = trade.instrument_type.value
    data["side"] = trade.side.value
    faust_trade = FaustTrade(**data)
    ours_wire = encode(trade)
    faust_wire = faust_trade.dumps()
    codec = faust.serializers.codecs.get_codec(CODEC_NAME)

    def ours() -> object:
        return decode(encode(trade), Trade)

    def ours_through_faust_registry() -> object:
        return codec.loads(codec.dumps(trade))

    def faust_record() -> object:
        return FaustTrade.loads(faust_trade.dumps(), serializer="json")

    if ours() != trade or codec.loads(ours_wire) != trade:
        raise SystemExit("codec round trip changed the trade")
    timings = {
        "marketprism": round(per_op_us(ours, 1.5), 2),
        "marketprism_via_faust_codec": round(per_op_us(ours_through_faust_registry, 1.5), 2),
        "faust_record_json": round(per_op_us(faust_record, 1.5), 2),
    }
    result = {
        "bench": "codec",
        "roundtrip_us": timings,
        "wire_bytes": {"marketprism": len(ours_wire), "faust_record_json": len(faust_wire)},
    }
    result["speedup_vs_faust_record"] = round(
        timings["faust_record_json"] / timings["marketprism"], 2
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
