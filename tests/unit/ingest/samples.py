"""Messages written from the venues' public API documentation (the recordings lack these)."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from models import Record


def at_ms(ms: int) -> datetime:
    """A receive time 5 ms after the exchange time ``ms``."""
    return datetime.fromtimestamp((ms + 5) / 1000, UTC)


def dumps(message: object) -> bytes:
    return orjson.dumps(message)


def only(records: list[Record]) -> dict[str, object]:
    """The one record parsed, as a plain dict (Decimals stay Decimals)."""
    assert len(records) == 1, records
    return records[0].model_dump()
