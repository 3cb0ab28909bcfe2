"""Every exchange adapter, by exchange id: adding a venue is one module plus one line here."""

from __future__ import annotations

from pathlib import PurePath
from urllib.parse import urlsplit

from ingest.binance import Binance
from ingest.binance_futures import BinanceFutures
from ingest.deribit import Deribit
from ingest.okx import Okx
from ingest.venue import Venue

VENUES: dict[str, type[Venue]] = {
    "binance": Binance,
    "binance_futures": BinanceFutures,
    "okx": Okx,
    "deribit": Deribit,
}


def venue_for_url(url: str) -> type[Venue] | None:
    """The venue whose declared hosts include the host of a (recorded) URL."""
    host = urlsplit(url).hostname or ""
    for venue in VENUES.values():
        if host in venue.hosts:
            return venue
    return None


def venue_for_recording(path: str | PurePath) -> type[Venue] | None:
    """The venue of an hftbacktest file, from its name (``spot_btcusdt_20240808.gz``)."""
    name = PurePath(path).name
    for venue in VENUES.values():
        if name.startswith(venue.recording_prefixes):
            return venue
    return None
