"""Replaying with --rebase: one shift moves every time, so the recording ends now."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from ingest.rebase import RebasedSink, rebased, shift_to_now
from ingest.replay import Replay
from models import Record, Trade


class ListSink:
    def __init__(self) -> None:
        self.records: list[Record] = []

    async def publish(self, record: Record) -> None:
        self.records.append(record)


def trade_line(received_ns: int, trade_id: int, event_ms: int) -> str:
    data = {
        "e": "trade",
        "E": event_ms + 1,
        "s": "BTCUSDT",
        "t": trade_id,
        "p": "61837.63000000",
        "q": "0.02000000",
        "T": event_ms,
        "m": True,
        "M": True,
    }
    return f"{received_ns} " + orjson.dumps({"stream": "btcusdt@trade", "data": data}).decode()


def recording(tmp_path: Path) -> Path:
    path = tmp_path / "spot_btcusdt_20240808.gz"
    lines = [
        trade_line(1_723_161_254_087_896_568, 3_735_683_259, 1_723_161_255_342),
        trade_line(1_723_161_256_000_000_000, 3_735_683_260, 1_723_161_255_900),
        trade_line(1_723_161_599_999_231_384, 3_735_683_261, 1_723_161_599_500),
    ]
    with gzip.open(path, "wt") as out:
        out.write("\n".join(lines) + "\n")
    return path


def test_the_shift_puts_the_last_received_message_at_now(tmp_path: Path) -> None:
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    last_received = datetime.fromtimestamp(1_723_161_599.999231, UTC)
    assert shift_to_now(recording(tmp_path), now) == now - last_received


@pytest.mark.asyncio
async def test_every_time_of_every_record_moves_by_the_same_shift(tmp_path: Path) -> None:
    path = recording(tmp_path)
    plain, moved = ListSink(), ListSink()
    shift = timedelta(days=800, milliseconds=17)
    await Replay(plain).run(path)
    await Replay(RebasedSink(moved, shift)).run(path)
    trades = [r for r in plain.records if isinstance(r, Trade)]
    assert [t.trade_id for t in trades] == ["3735683259", "3735683260", "3735683261"]
    assert len(moved.records) == len(plain.records)
    for before, after in zip(plain.records, moved.records, strict=True):
        assert after == rebased(before, shift)
        assert after.model_dump(exclude={"timestamp", "collected_at"}) == before.model_dump(
            exclude={"timestamp", "collected_at"}
        )
        if isinstance(before, Trade):
            assert isinstance(after, Trade)
            assert after.timestamp - before.timestamp == shift
            assert after.collected_at - before.collected_at == shift
