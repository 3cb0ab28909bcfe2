"""Evidence for the precision decision: Decimal vs float64 on every recorded number.

Reads every numeric literal in the recorded exchange data (quoted decimals and
bare JSON floats) and reports, side by side in one run:

- how many round-trip exactly (value, and the exchange's own string) through
  MarketPrism's Decimal types + JSON codec, and through float64;
- the cost: encode + decode of a 20-level book delta with Decimal levels vs
  the same message with float levels (pydantic, same machine, same run).

Prints one JSON object. Needs ../shared/data (or MARKETPRISM_SHARED_DATA).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, TypeAdapter
from timing import per_op_us

from models import BookDelta, InstrumentType, decode, encode
from models.numbers import SignedDecimal

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the recorded-data helpers live with the tests

from tests.shared_data import SHARED_DATA, numeric_literals  # noqa: E402

NOW = datetime(2024, 8, 9, tzinfo=UTC)


class FloatDelta(BaseModel):
    bids: list[tuple[float, float]]
    asks: list[tuple[float, float]]


def book_delta(levels: list[tuple[Decimal, Decimal]]) -> BookDelta:
    return BookDelta(
        exchange="binance",
        symbol="BTC-USDT",
        native_symbol="BTCUSDT",
        instrument_type=InstrumentType.SPOT,
        timestamp=NOW,
        collected_at=NOW,
        bids=levels,
        asks=[],
    )


def exactness(quoted: set[str], values: list[str]) -> dict[str, dict[str, int]]:
    positive = [s for s in values if Decimal(s) > 0]
    back = decode(encode(book_delta([(Decimal(s), Decimal(s)) for s in positive])), BookDelta)
    signed = TypeAdapter(SignedDecimal)  # the type of rates: admits 0 and negatives
    return {
        "decimal": {
            "value_exact": sum(
                d == Decimal(s) for (d, _), s in zip(back.bids, positive, strict=True)
            )
            + sum(Decimal(s) <= 0 for s in values),
            "exchange_string_exact": sum(
                signed.dump_json(signed.validate_json(f'"{s}"')) == f'"{s}"'.encode()
                for s in quoted
            ),
        },
        "float64": {
            "value_exact": sum(Decimal(repr(float(s))) == Decimal(s) for s in values),
            "exchange_string_exact": sum(repr(float(s)) == s for s in quoted),
        },
    }


def main() -> int:
    if not SHARED_DATA.is_dir():
        print(json.dumps({"bench": "precision", "skipped": f"no recorded data at {SHARED_DATA}"}))
        return 0
    quoted, bare = numeric_literals()
    values = sorted(quoted | bare)
    result = exactness(quoted, values)
    levels = [(Decimal("61837.63000000"), Decimal("1.54698000"))] * 20
    dec = book_delta(levels)
    flt = FloatDelta(bids=[(float(p), float(q)) for p, q in levels], asks=[])
    result["decimal"]["encode_decode_20_levels_ns"] = round(
        1000 * per_op_us(lambda: decode(encode(dec), BookDelta))
    )
    result["float64"]["encode_decode_20_levels_ns"] = round(
        1000 * per_op_us(lambda: FloatDelta.model_validate_json(flt.model_dump_json()))
    )
    print(
        json.dumps(
            {
                "bench": "precision",
                "literals": len(values),
                "quoted_strings": len(quoted),
                **result,
                "wire_bytes": {"decimal": len(encode(dec)), "float64": len(flt.model_dump_json())},
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
