"""Errors of the storage layer, all under :class:`~models.exceptions.MarketPrismError`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from models.exceptions import MarketPrismError

if TYPE_CHECKING:
    from sinks.base import Durable


class SinkError(MarketPrismError):
    """Base class of storage errors."""


class PrecisionError(SinkError):
    """A value does not fit the exact Parquet type (e.g. more than 18 fractional digits).

    Nothing is rounded: the batch is refused and the rows stay buffered.
    """


class SinkWriteError(SinkError):
    """A Parquet file could not be made durable; the rows it held are still buffered.

    ``durable`` lists what other buffers did make durable during the same call,
    so the caller may still acknowledge those.
    """

    def __init__(self, message: str, durable: list[Durable] | None = None) -> None:
        super().__init__(message)
        self.durable = durable or []


class CompactionError(SinkError):
    """An hour could not be compacted; its files are left as they were."""


class QueryError(SinkError):
    """A query was refused (not a single SELECT) or failed."""
