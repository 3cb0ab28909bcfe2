"""Feed recorded sessions through the parsers; shared by the replay test and its golden script.

Recorded data: cryptofeed's ``sample_data`` (shared/data/recorded, see its
LICENSE.cryptofeed) and hftbacktest captures (shared/data/binance-hft, see its
LICENSE.hftbacktest).

Regenerate the golden files after an intended change to the normalized output::

    .venv/bin/python -m tests.replay.make_golden

and review the diff under ``tests/replay/golden/`` before committing it.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from ingest.recording import read_recording
from ingest.registry import venue_for_recording, venue_for_url
from ingest.replay import is_depth_snapshot, snapshot_native_symbol
from ingest.venue import Venue
from models.codec import encode

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"

#: (recording relative to shared/data, how many lines of it to replay; None = all).
RECORDINGS: list[tuple[str, int | None]] = [
    ("recorded/BINANCE.ws.1.0", None),
    ("recorded/BINANCE.http.0.0", None),
    ("recorded/BINANCE_FUTURES.ws.1.0", None),
    ("recorded/BINANCE_FUTURES.http.0.0", None),
    ("recorded/OKX.ws.1.0", None),
    ("recorded/DERIBIT.ws.1.0", None),
    ("binance-hft/spot_btcusdt_20240808.gz", 1000),
    ("binance-hft/spot_btcusdt_20240809.gz", 1000),
    ("binance-hft/usdm_btcusdt_20240808.gz", 1000),
]


def golden_path(recording: str) -> Path:
    return GOLDEN_DIR / (Path(recording).name.removesuffix(".gz") + ".jsonl")


def normalized_lines(path: Path, limit: int | None = None) -> Iterator[str]:
    """One JSON line per normalized record: ``{"message": n, "record": {...}}``.

    ``n`` counts the recording's messages from 0, so a golden line points back
    at the raw message it came from. Received WebSocket messages go through
    ``parse``; REST depth answers through ``parse_snapshot``; what we sent and
    other REST answers (instrument lists) are not market data and are skipped.
    """
    venues: dict[type[Venue], Venue] = {}
    for n, message in enumerate(islice(read_recording(path), limit)):
        kind = venue_for_url(message.source) or venue_for_recording(path)
        if kind is None:
            raise ValueError(f"no venue for {message.source!r} in {path}")
        venue = venues.setdefault(kind, kind(max_clock_skew=None))
        if message.direction == "received":
            for record in venue.parse(message.text, message.received_at):
                yield f'{{"message":{n},"record":{encode(record).decode()}}}'
        elif message.direction == "rest" and is_depth_snapshot(venue, message.source):
            native = snapshot_native_symbol(message.source, path)
            symbol = venue.to_canonical(native)
            if symbol is None:
                raise ValueError(f"unknown symbol {native!r} in {path}")
            snapshot = venue.parse_snapshot(message.text, message.received_at, symbol)
            yield f'{{"message":{n},"snapshot":{snapshot.model_dump_json()}}}'
