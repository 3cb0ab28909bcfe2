"""Producer compression: gzip, snappy, lz4 and zstd on real normalized records.

The recorded Binance session (trades, book tickers, depth) goes through our
parsers and codec; the encoded values are cut into batches the way the
producer fills them (``max_batch_size`` bytes per topic), and each batch is
compressed and decompressed with aiokafka's own codec functions — all
codecs in the same run, round-robin, so machine noise hits them alike.
Prints one JSON object: ratio, compress and decompress MB/s per codec.
Falls back to a synthetic session when ../shared/data is absent.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from aiokafka import codec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # bench/ingest.py would shadow the ingest package

from ingest.binance import Binance  # noqa: E402
from ingest.recording import read_recording  # noqa: E402
from models.codec import encode  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "binance-hft"
BATCH_BYTES = 256 * 1024  # the ingest producer's max_batch_size
ROUNDS = 5

Codec = tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]
CODECS: dict[str, Codec] = {
    "gzip": (codec.gzip_encode, codec.gzip_decode),
    "snappy": (codec.snappy_encode, codec.snappy_decode),
    "lz4": (codec.lz4_encode, codec.lz4_decode),
    "zstd": (codec.zstd_encode, codec.zstd_decode),
}


def values() -> tuple[str, Iterator[bytes]]:
    path = DATA / "spot_btcusdt_20240808.gz"
    if not path.exists():
        return "synthetic", (encode(r) for r in _synthetic())
    venue = Binance(max_clock_skew=None)
    records = (
        record
        for message in read_recording(path)
        if message.direction == "received"
        for record in venue.parse(message.text, message.received_at)
    )
    return str(path.name), (encode(r) for r in records)


def _synthetic() -> Iterator[object]:
    from tests.unit.models.samples import every_model

    samples = list(every_model().values())
    for n in range(50_000):
        yield samples[n % len(samples)]


def batches(encoded: Iterator[bytes]) -> list[bytes]:
    out, current, size = [], [], 0
    for value in encoded:
        current.append(value)
        size += len(value) + 70  # record overhead: key, timestamp, headers, varints
        if size >= BATCH_BYTES:
            out.append(b"".join(current))
            current, size = [], 0
    if current:
        out.append(b"".join(current))
    return out


def main() -> int:
    source, encoded = values()
    data = batches(encoded)
    raw = sum(len(b) for b in data)
    timings: dict[str, dict[str, list[float]]] = {n: {"enc": [], "dec": []} for n in CODECS}
    sizes: dict[str, int] = {}
    for _ in range(ROUNDS):
        for name, (compress, decompress) in CODECS.items():
            began = time.perf_counter()
            packed = [compress(b) for b in data]
            middle = time.perf_counter()
            for item in packed:
                decompress(item)
            ended = time.perf_counter()
            timings[name]["enc"].append(middle - began)
            timings[name]["dec"].append(ended - middle)
            sizes[name] = sum(len(p) for p in packed)
    result = {
        "benchmark": "producer_compression",
        "source": source,
        "batches": len(data),
        "raw_bytes": raw,
        "codecs": {
            name: {
                "ratio": round(raw / sizes[name], 2),
                "compress_mb_s": round(raw / 1e6 / sorted(t["enc"])[ROUNDS // 2], 1),
                "decompress_mb_s": round(raw / 1e6 / sorted(t["dec"])[ROUNDS // 2], 1),
            }
            for name, t in timings.items()
        },
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
