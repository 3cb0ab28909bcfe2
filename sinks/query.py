"""PriceStore: SQL over the Parquet tree with DuckDB, locked down after the views exist.

DuckDB runs in memory. The views are created first; then file access is
limited to the Parquet root (``allowed_directories``), ``enable_external_access``
is switched off (no other file, no ATTACH, no extension install, no network) and
``lock_configuration`` makes those settings final for the connection.
``enable_external_access = false`` alone would also stop the views, since they
read Parquet when queried; inside the allowed root DuckDB could still *write*
(``COPY ... TO``), so :meth:`PriceStore.sql` accepts a single SELECT only.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from sinks.exceptions import QueryError
from sinks.views import views_sql

_INTERVAL = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}

#: Keeps only the files of the hours that overlap [start, end]: DuckDB prunes
#: hive partitions with these comparisons (a BETWEEN on date + hour does not prune).
_HOUR_RANGE = (
    "date BETWEEN $first_day AND $last_day"
    " AND (date > $first_day OR hour >= $first_hour)"
    " AND (date < $last_day OR hour <= $last_hour)"
)


def parse_interval(interval: str | timedelta) -> int:
    """``"1m"``, ``"15s"``, ``"4h"``, ``"1d"`` or a timedelta -> whole seconds."""
    if isinstance(interval, timedelta):
        seconds = interval.total_seconds()
    else:
        match = _INTERVAL.match(interval)
        if match is None:
            raise ValueError(f"interval {interval!r} is not like 1s, 5m, 1h or 1d")
        seconds = int(match[1]) * _UNIT_SECONDS[match[2]]
    if seconds < 1 or seconds != int(seconds):
        raise ValueError(f"interval must be a whole number of seconds, got {seconds}")
    return int(seconds)


def ohlcv_sql(view: str = "trades", prune_hours: bool = True) -> str:
    """The SELECT behind :meth:`PriceStore.ohlcv` over ``view``.

    Parameters: those of :func:`range_params` plus ``$step`` (bar length in
    microseconds). ``prune_hours=False`` leaves out the hive filter on
    ``date``/``hour`` and its parameters (a view without hive columns, for
    benchmarks).
    """
    if not view.isidentifier():
        raise ValueError(f"{view!r} is not a view name")
    hours = f"AND {_HOUR_RANGE}" if prune_hours else ""
    return f"""
        SELECT exchange,
               to_timestamp((epoch_us(timestamp) // $step) * $step / 1000000) AS bucket,
               arg_min(price, (timestamp, _partition, _offset)) AS open,
               max(price) AS high, min(price) AS low,
               arg_max(price, (timestamp, _partition, _offset)) AS close,
               sum(quantity) AS volume, sum(quote_quantity) AS quote_volume,
               count(*) AS trades,
               sum(quote_quantity)::DOUBLE / sum(quantity)::DOUBLE AS vwap
        FROM {view}
        WHERE symbol = $symbol AND ($exchange IS NULL OR exchange = $exchange)
          {hours} AND timestamp >= $start AND timestamp < $end
        GROUP BY ALL ORDER BY exchange, bucket
    """  # noqa: S608 - fixed text and an identifier, values are parameters


def range_params(
    symbol: str, start: datetime, end: datetime, exchange: str | None = None
) -> dict[str, Any]:
    """Query parameters for ``symbol`` over ``[start, end)``, with the hour bounds of the hive
    filter (``$first_day``, ``$last_day``, ``$first_hour``, ``$last_hour``)."""
    start, end = _utc(start), _utc(end)
    last = max(start, end - timedelta(microseconds=1))
    return {
        "symbol": symbol,
        "exchange": exchange,
        "start": start,
        "end": end,
        "first_day": start.date(),
        "last_day": last.date(),
        "first_hour": start.hour,
        "last_hour": last.hour,
    }


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{value!r} must be timezone-aware")
    return value.astimezone(UTC)


class PriceStore:
    """Read-only queries over ``root``: views, price data, OHLCV bars and plain SQL."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._con = duckdb.connect(":memory:")
        for setting in (
            "SET TimeZone = 'UTC'",
            "SET python_enable_replacements = false",
            "SET autoinstall_known_extensions = false",
            "SET autoload_known_extensions = false",
        ):
            self._con.execute(setting)
        self.refresh()
        allowed = str(self.root) + "/"
        self._con.execute("SET allowed_directories = $dirs", {"dirs": [allowed]})
        self._con.execute("SET enable_external_access = false")
        self._con.execute("SET lock_configuration = true")

    def refresh(self) -> None:
        """Re-create the views (a data type that had no file may have some now)."""
        self._con.execute(views_sql(self.root))

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> PriceStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sql(self, query: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """Run one SELECT; exact decimals come back as :class:`decimal.Decimal`."""
        frame: pd.DataFrame = self.table(query, params).to_pandas()
        return frame

    def table(self, query: str, params: dict[str, Any] | None = None) -> pa.Table:
        """Run one SELECT into an Arrow table (exact decimals, nullable integers)."""
        self._check_select(query)
        try:
            table: pa.Table = self._con.sql(query, params=params).to_arrow_table()
        except duckdb.Error as exc:
            raise QueryError(str(exc)) from exc
        return table

    def explain_analyze(self, query: str, params: dict[str, Any] | None = None) -> str:
        """DuckDB's profile of one SELECT (shows the files scanned)."""
        self._check_select(query)
        rows = self._con.execute(f"EXPLAIN ANALYZE {query}", params).fetchall()
        return "\n".join(str(row[1]) for row in rows)

    def get_price_data(
        self, symbol: str, start: datetime, end: datetime, exchange: str | None = None
    ) -> pd.DataFrame:
        """Trades of ``symbol`` with ``start <= timestamp < end``, in event order."""
        query = f"""
            SELECT timestamp, collected_at, exchange, symbol, trade_id, price, quantity,
                   quote_quantity, side, is_buyer_maker, sequence
            FROM trades
            WHERE symbol = $symbol AND ($exchange IS NULL OR exchange = $exchange)
              AND {_HOUR_RANGE} AND timestamp >= $start AND timestamp < $end
            ORDER BY timestamp, exchange, _partition, _offset
        """  # noqa: S608 - fixed text, values are parameters
        return self.sql(query, range_params(symbol, start, end, exchange))

    def ohlcv(
        self,
        symbol: str,
        start: datetime,
        end: datetime,
        interval: str | timedelta = "1m",
        exchange: str | None = None,
    ) -> pd.DataFrame:
        """Bars per exchange and interval (aligned to the epoch) over ``[start, end)``.

        Columns: exchange, bucket (bar start), open, high, low, close, volume,
        quote_volume (exact), trades, vwap (float). Open/close are the first/last
        trade by event time, ties broken by Kafka position.
        """
        frame: pd.DataFrame = self.ohlcv_table(symbol, start, end, interval, exchange).to_pandas()
        return frame

    def ohlcv_table(
        self,
        symbol: str,
        start: datetime,
        end: datetime,
        interval: str | timedelta = "1m",
        exchange: str | None = None,
    ) -> pa.Table:
        """:meth:`ohlcv` as an Arrow table (exact decimals, no pandas conversion)."""
        params = range_params(symbol, start, end, exchange)
        params["step"] = parse_interval(interval) * 1_000_000
        return self.table(ohlcv_sql(), params)

    def _check_select(self, query: str) -> None:
        try:
            statements = duckdb.extract_statements(query)
        except duckdb.Error as exc:
            raise QueryError(str(exc)) from exc
        if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
            raise QueryError("only a single SELECT statement is allowed")
