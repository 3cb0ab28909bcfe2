"""Evidence for the precision decision: Decimal vs float64 on every recorded number.

Reads every numeric literal in the recorded exchange data (quoted decimals and
bare JSON floats) and reports, side by side in one run:

- how many round-trip exactly (value, and the exchange's own string) through
  MarketPrism's Decimal model + JSON codec, and through float64;
- the cost: encode + decode of a 20-level book delta with Decimal levels vs
  the same message with float levels (pydantic, same machine, same run).

Prints one JSON object. Needs ../shared/data (or MARKETPRISM_SHARED_DATA).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, TypeAdapter

from models import BookDelta, InstrumentType, decode, encode
from models.numbers import SignedDecimal

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("MARKETPRISM_SHARED_DATA", ROOT.parent / "shared" / "data"))
QUOTED = re.compile(r'"(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"')
BARE = re.compile(r"(?<=[:\[,])\s*(-?\d+(?:\.\d+(?:[eE][-+]?\d+)?|[eE][-+]?\d+))(?=[,\]}])")
NOW = datetime(2024, 8, 9, tzinfo=UTC)


def literals() -> tuple[set[str], set[str]]:
    quoted: set[str] = set()
    bare: set[str] = set()
    files = [p for p in (DATA / "recorded").iterdir() if not p.name.startswith(("README", "LIC"))]
    files += sorted((DATA / "binance-hft").glob("*.gz"))
    for path in files:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                quoted.update(QUOTED.findall(line))
                bare.update(m.strip() for m in BARE.findall(line))
    return quoted, bare


class FloatDelta(BaseModel):
    bids: list[tuple[float, float]]
    asks: list[tuple[float, float]]


def per_op_us(func: Callable[[], object], seconds: float = 1.0) -> float:
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(100):
            func()
        count += 100
    return (time.perf_counter() - start) / count * 1e6


def main() -> int:
    if not DATA.is_dir():
        print(json.dumps({"skipped": f"no recorded data at {DATA}"}))
        return 0
    quoted, bare = literals()
    values = sorted(quoted | bare)
    positive = [s for s in values if Decimal(s) > 0]
    delta = BookDelta(
        exchange="binance",
        symbol="BTC-USDT",
        native_symbol="BTCUSDT",
        instrument_type=InstrumentType.SPOT,
        timestamp=NOW,
        collected_at=NOW,
        bids=[(Decimal(s), Decimal(s)) for s in positive],
        asks=[],
    )
    back = decode(encode(delta), BookDelta)
    decimal_value_exact = sum(
        d == Decimal(s) for (d, _), s in zip(back.bids, positive, strict=True)
    )
    signed = TypeAdapter(SignedDecimal)  # the model type of rates, which admits 0 and < 0
    decimal_text_exact = sum(
        signed.dump_json(signed.validate_json(f'"{s}"')) == f'"{s}"'.encode() for s in quoted
    )
    float_value_exact = sum(Decimal(repr(float(s))) == Decimal(s) for s in values)
    float_text_exact = sum(repr(float(s)) == s for s in quoted)

    levels = [("61837.63000000", "1.54698000")] * 20
    dec = BookDelta(
        exchange="binance",
        symbol="BTC-USDT",
        native_symbol="BTCUSDT",
        instrument_type=InstrumentType.SPOT,
        timestamp=NOW,
        collected_at=NOW,
        bids=[(Decimal(p), Decimal(q)) for p, q in levels],
        asks=[],
    )
    flt = FloatDelta(bids=[(float(p), float(q)) for p, q in levels], asks=[])
    dec_wire, flt_wire = encode(dec), flt.model_dump_json().encode()
    result = {
        "bench": "precision",
        "literals": len(values),
        "quoted_strings": len(quoted),
        "decimal": {
            "value_exact": decimal_value_exact + sum(Decimal(s) <= 0 for s in values),
            "exchange_string_exact": decimal_text_exact,
            "encode_decode_20_levels_us": round(
                per_op_us(lambda: decode(encode(dec), BookDelta)), 2
            ),
        },
        "float64": {
            "value_exact": float_value_exact,
            "exchange_string_exact": float_text_exact,
            "encode_decode_20_levels_us": round(
                per_op_us(lambda: FloatDelta.model_validate_json(flt.model_dump_json())), 2
            ),
        },
        "wire_bytes": {"decimal": len(dec_wire), "float64": len(flt_wire)},
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
