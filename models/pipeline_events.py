"""Records about the pipeline itself: data gaps and dead letters."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Literal, Self

from pydantic import Field, model_validator

from models.base import EXCHANGE_PATTERN, Record, SymbolRecord
from models.numbers import UtcDatetime


class GapEvent(SymbolRecord):
    """Data that is missing or was resynchronized: a sequence gap, a checksum failure,
    trades lost during a reconnect that could not be backfilled."""

    type: Literal["gap"] = "gap"
    channel: str = Field(min_length=1, description="trades, book, ...")
    cause: str = Field(min_length=1, description="sequence_gap, checksum_mismatch, reconnect, ...")
    from_sequence: int | None = Field(default=None, description="last id seen before the gap")
    to_sequence: int | None = Field(default=None, description="first id seen after the gap")
    missing: int | None = Field(default=None, ge=0, description="ids known to be lost")
    resynced: bool = Field(default=False, description="the book was rebuilt from a snapshot")
    timestamp: UtcDatetime = Field(description="when the gap was detected")


class DeadLetter(Record):
    """Input that could not be accepted, with the reason and the raw payload.

    ``raw`` holds the payload as text when it is valid UTF-8, base64 otherwise
    (``raw_encoding`` says which); nothing is lost either way.
    """

    type: Literal["dead_letter"] = "dead_letter"
    source: str = Field(min_length=1, description="'ingest:binance' or the topic it came from")
    reason: str = Field(min_length=1)
    raw: str
    raw_encoding: Literal["utf-8", "base64"] = "utf-8"
    exchange: str | None = Field(default=None, pattern=EXCHANGE_PATTERN)
    channel: str | None = None
    key: str | None = None
    partition: int | None = Field(default=None, ge=0)
    offset: int | None = Field(default=None, ge=0)
    timestamp: UtcDatetime = Field(description="when it was dead-lettered")

    @model_validator(mode="after")
    def _raw_decodes(self) -> Self:
        if self.raw_encoding == "base64":
            base64.b64decode(self.raw, validate=True)
        return self

    @classmethod
    def of(
        cls,
        payload: bytes | str,
        *,
        source: str,
        reason: str,
        at: datetime,
        exchange: str | None = None,
        channel: str | None = None,
        key: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> DeadLetter:
        """Build a dead letter, keeping the payload exactly (as text when it is UTF-8)."""
        raw_encoding: Literal["utf-8", "base64"] = "utf-8"
        if isinstance(payload, str):
            raw = payload
        else:
            try:
                raw = payload.decode("utf-8")
            except UnicodeDecodeError:
                raw, raw_encoding = base64.b64encode(payload).decode("ascii"), "base64"
        return cls(
            source=source,
            reason=reason[:2000],
            raw=raw,
            raw_encoding=raw_encoding,
            exchange=exchange,
            channel=channel,
            key=key,
            partition=partition,
            offset=offset,
            timestamp=at,
        )

    def payload(self) -> bytes:
        """The raw payload, byte for byte."""
        if self.raw_encoding == "base64":
            return base64.b64decode(self.raw)
        return self.raw.encode("utf-8")
