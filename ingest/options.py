"""How the collectors behave: books, watchdogs, reconnects, backfill, buffering.

One frozen model, embedded in the settings tree as ``ingest``
(``MARKETPRISM_INGEST__BOOK_DEPTH=50``), so the ingest layer needs nothing
from ``app/``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


def _default_stale_seconds() -> dict[str, float]:
    # Books and tickers of a live venue update many times a second; a trade
    # stream can be quiet for minutes on a small symbol; liquidations and
    # open interest may be silent for hours, so they never count as stale.
    return {"book": 15.0, "ticker": 60.0, "trades": 600.0, "funding": 120.0}


class FeedOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    book_depth: int = Field(default=20, ge=1, le=1000, description="levels a side published")
    book_publish_seconds: float = Field(
        default=1.0, gt=0, description="top-N book snapshot rate per symbol (only on change)"
    )
    publish_deltas: bool = Field(default=False, description="also publish every book delta")
    stale_seconds: dict[str, float] = Field(
        default_factory=_default_stale_seconds,
        description="channel -> seconds without data before the connection is replaced",
    )
    reconnect_min_seconds: float = Field(default=0.5, gt=0)
    reconnect_max_seconds: float = Field(default=30.0, gt=0)
    rotate_before_seconds: float = Field(
        default=900.0, ge=0, description="replace a connection this long before the venue's cap"
    )
    max_connection_age_seconds: float | None = Field(
        default=None, gt=0, description="override the venue's forced-disconnect age"
    )
    switch_timeout_seconds: float = Field(
        default=10.0, gt=0, description="longest make-before-break overlap"
    )
    ping_seconds: float = Field(
        default=20.0, gt=0, description="client silence before a text ping (OKX)"
    )
    resubscribe_min_seconds: float = Field(
        default=2.0, ge=0, description="least time between two book resyncs of one symbol"
    )
    max_backfill_trades: int = Field(
        default=100_000, ge=0, description="trades fetched over REST per gap, at most"
    )
    max_frame_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
