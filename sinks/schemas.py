"""Explicit Arrow schemas, one per data type (never inferred from a batch).

Column types:

* exact prices, sizes and rates: ``decimal128(38, 18)``. Every value the models
  admit (``|x| < 1e18``) has at most 18 integer digits, so 18 + 18 = 36 digits
  fit in 38. A value with more than 18 significant fractional digits cannot be
  stored exactly and is refused with :class:`~sinks.exceptions.PrecisionError`,
  never rounded. Values round-trip numerically exactly; the exchange's textual
  trailing zeros are not kept (``61837.63000000`` reads back as
  ``61837.630000000000000000``, which compares equal). In DuckDB, multiplying two
  such columns gives ``DECIMAL(38,36)`` and overflows above 100: cast first
  (``price::DOUBLE * quantity``) or use the stored ``quote_quantity``.
* timestamps: ``timestamp("us", tz="UTC")``, the models' own resolution.
* enums and low-cardinality text (exchange, symbol, side, ...): dictionary-encoded
  strings.
* book levels: ``list<struct<price, size>>``.
* every row also carries ``_partition`` (int32) and ``_offset`` (int64): where its
  Kafka record came from.

The ``type`` tag of the models is not stored: a table holds one type.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from models import (
    BookDelta,
    BookSnapshot,
    DeadLetter,
    FundingRate,
    GapEvent,
    Liquidation,
    OpenInterest,
    PriceAlert,
    Record,
    Ticker,
    Trade,
    WindowStats,
)

DECIMAL = pa.decimal128(38, 18)
UTC_US = pa.timestamp("us", tz="UTC")
LABEL = pa.dictionary(pa.int32(), pa.string())
LEVELS = pa.list_(pa.struct([("price", DECIMAL), ("size", DECIMAL)]))
FINDINGS = pa.list_(
    pa.struct(
        [
            ("detector", pa.string()),
            ("value", pa.float64()),
            ("threshold", pa.float64()),
            ("reason", pa.string()),
        ]
    )
)
KAFKA_COLUMNS = ["_partition", "_offset"]


def _schema(*fields: tuple[str, pa.DataType, bool], data_type: str) -> pa.Schema:
    """Columns as ``(name, type, nullable)``, then the Kafka position columns."""
    columns = [pa.field(name, kind, nullable=nullable) for name, kind, nullable in fields]
    columns += [pa.field("_partition", pa.int32(), False), pa.field("_offset", pa.int64(), False)]
    return pa.schema(columns, metadata={"marketprism.data_type": data_type, "version": "1"})


_EVENT = (
    ("exchange", LABEL, False),
    ("symbol", LABEL, False),
    ("native_symbol", LABEL, False),
    ("instrument_type", LABEL, False),
    ("timestamp", UTC_US, False),
    ("collected_at", UTC_US, False),
)
_SYMBOL = (("exchange", LABEL, False), ("symbol", LABEL, False))
_TRADE_LIKE = (
    ("price", DECIMAL, False),
    ("quantity", DECIMAL, False),
    ("side", LABEL, False),
    ("quote_quantity", DECIMAL, False),
)


@dataclass(frozen=True)
class TableSpec:
    """How one data type is stored: its model, schema, directory and natural key.

    ``directory`` is also the DuckDB view name. ``by_symbol`` is False only for
    dead letters, which are partitioned by date and hour alone. ``dedupe_key`` is
    a SQL expression; two rows with the same key are one event (see
    :mod:`sinks.compaction`).
    """

    data_type: str
    directory: str
    model: type[Record]
    schema: pa.Schema
    dedupe_key: str
    by_symbol: bool = True

    @property
    def data_columns(self) -> list[str]:
        return [name for name in self.schema.names if name not in KAFKA_COLUMNS]


_KAFKA_KEY = "_partition::VARCHAR || ':' || _offset::VARCHAR"


def _or_kafka(expression: str) -> str:
    """A nullable natural key, falling back to the Kafka position when it is null."""
    return f"coalesce({expression}, 'k' || {_KAFKA_KEY})"


def _spec(
    data_type: str,
    directory: str,
    model: type[Record],
    fields: tuple[tuple[str, pa.DataType, bool], ...],
    dedupe_key: str,
    by_symbol: bool = True,
) -> TableSpec:
    schema = _schema(*fields, data_type=data_type)
    return TableSpec(data_type, directory, model, schema, dedupe_key, by_symbol)


#: data type (as in ``app.topics.TOPIC_MODELS``) -> how it is stored.
SPECS: dict[str, TableSpec] = {
    spec.data_type: spec
    for spec in (
        _spec(
            "trades",
            "trades",
            Trade,
            (
                *_EVENT,
                ("trade_id", pa.string(), False),
                *_TRADE_LIKE,
                ("is_buyer_maker", pa.bool_(), False),
                ("sequence", pa.int64(), True),
            ),
            "trade_id",
        ),
        _spec(
            "tickers",
            "tickers",
            Ticker,
            (
                *_EVENT,
                *((name, DECIMAL, True) for name in ("bid_price", "bid_size", "ask_price")),
                *((name, DECIMAL, True) for name in ("ask_size", "last_price", "open_24h")),
                *((name, DECIMAL, True) for name in ("high_24h", "low_24h", "volume_24h")),
                ("quote_volume_24h", DECIMAL, True),
                ("price_change_pct_24h", DECIMAL, True),
                ("sequence", pa.int64(), True),
            ),
            _KAFKA_KEY,
        ),
        _spec(
            "book_snapshots",
            "books",
            BookSnapshot,
            (
                *_EVENT,
                ("bids", LEVELS, False),
                ("asks", LEVELS, False),
                ("sequence", pa.int64(), True),
                ("checksum", pa.int64(), True),
                ("depth", pa.int32(), False),
            ),
            _or_kafka("sequence::VARCHAR"),
        ),
        _spec(
            "book_deltas",
            "book_deltas",
            BookDelta,
            (
                *_EVENT,
                ("bids", LEVELS, False),
                ("asks", LEVELS, False),
                ("first_sequence", pa.int64(), True),
                ("sequence", pa.int64(), True),
                ("prev_sequence", pa.int64(), True),
                ("checksum", pa.int64(), True),
            ),
            _or_kafka("first_sequence::VARCHAR || '-' || sequence::VARCHAR"),
        ),
        _spec(
            "funding_rates",
            "funding",
            FundingRate,
            (
                *_EVENT,
                ("funding_rate", DECIMAL, False),
                ("next_funding_time", UTC_US, True),
                ("mark_price", DECIMAL, True),
                ("index_price", DECIMAL, True),
                ("estimated_rate", DECIMAL, True),
                ("interval_hours", pa.int32(), True),
            ),
            _KAFKA_KEY,
        ),
        _spec(
            "open_interest",
            "open_interest",
            OpenInterest,
            (*_EVENT, ("open_interest", DECIMAL, False), ("open_interest_value", DECIMAL, True)),
            _KAFKA_KEY,
        ),
        _spec(
            "liquidations",
            "liquidations",
            Liquidation,
            (
                *_EVENT,
                *_TRADE_LIKE,
                ("trade_id", pa.string(), True),
                ("order_status", LABEL, True),
            ),
            _or_kafka("trade_id"),
        ),
        _spec(
            "analytics",
            "analytics",
            WindowStats,
            (
                *_SYMBOL,
                ("timestamp", UTC_US, False),
                ("window_start", UTC_US, False),
                ("window_end", UTC_US, False),
                ("window_kind", LABEL, False),
                ("window_seconds", pa.float64(), False),
                ("step_seconds", pa.float64(), False),
                ("trade_count", pa.int64(), False),
                *((name, DECIMAL, False) for name in ("open", "high", "low", "close")),
                *((name, DECIMAL, False) for name in ("volume", "quote_volume")),
                *((name, DECIMAL, False) for name in ("buy_volume", "sell_volume")),
                *((name, pa.float64(), False) for name in ("vwap", "average_price")),
                *((name, pa.float64(), False) for name in ("min_price", "max_price")),
                *((name, pa.float64(), False) for name in ("std_dev", "volatility")),
                ("last_price", DECIMAL, False),
                ("final", pa.bool_(), False),
            ),
            "window_kind || ':' || window_seconds::VARCHAR || ':' || window_start::VARCHAR"
            " || ':' || final::VARCHAR",
        ),
        _spec(
            "alerts",
            "alerts",
            PriceAlert,
            (
                *_SYMBOL,
                ("alert_id", pa.string(), False),
                ("status", LABEL, False),
                ("timestamp", UTC_US, False),
                ("severity", LABEL, False),
                ("z_score", pa.float64(), True),
                ("price_change_pct", pa.float64(), True),
                ("confidence", pa.float64(), False),
                ("reasons", pa.list_(pa.string()), False),
                ("price", pa.float64(), True),
                ("window_seconds", pa.float64(), True),
                ("findings", FINDINGS, False),
                ("flags", pa.list_(pa.string()), False),
            ),
            "alert_id || ':' || status || ':' || timestamp::VARCHAR",
        ),
        _spec(
            "gaps",
            "gaps",
            GapEvent,
            (
                *_SYMBOL,
                ("channel", LABEL, False),
                ("cause", LABEL, False),
                ("from_sequence", pa.int64(), True),
                ("to_sequence", pa.int64(), True),
                ("missing", pa.int64(), True),
                ("resynced", pa.bool_(), False),
                ("timestamp", UTC_US, False),
            ),
            _KAFKA_KEY,
        ),
        _spec(
            "dead_letters",
            "dead_letters",
            DeadLetter,
            (
                ("source", LABEL, False),
                ("reason", pa.string(), False),
                ("raw", pa.string(), False),
                ("raw_encoding", LABEL, False),
                ("exchange", LABEL, True),
                ("channel", LABEL, True),
                ("key", pa.string(), True),
                ("partition", pa.int32(), True),
                ("offset", pa.int64(), True),
                ("timestamp", UTC_US, False),
            ),
            _KAFKA_KEY,
            by_symbol=False,
        ),
    )
}

#: view/directory name -> spec.
BY_DIRECTORY: dict[str, TableSpec] = {spec.directory: spec for spec in SPECS.values()}
