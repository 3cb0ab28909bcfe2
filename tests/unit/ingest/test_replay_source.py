"""``marketprism ingest --replay``: recorded sessions through the same parsers, books and
trade checks as live ingest, to stdout or any sink, with no network."""

from __future__ import annotations

import asyncio
import gzip
from collections import Counter
from pathlib import Path

import orjson
import pytest

from app.cli import main
from ingest.options import FeedOptions
from ingest.replay import Replay
from models import BookSnapshot, DeadLetter, GapEvent, Record, Trade
from models.exceptions import ConfigError
from tests.shared_data import shared_data_dir

SPOT = ("spot_btcusdt_20240808.gz", "spot_btcusdt_20240809.gz")


class ListSink:
    def __init__(self) -> None:
        self.records: list[Record] = []

    async def publish(self, record: Record) -> None:
        self.records.append(record)


def replay(paths: list[Path], exchange: str | None = None) -> list[Record]:
    sink = ListSink()
    source = Replay(sink, exchange=exchange, options=FeedOptions(book_depth=5))

    async def run() -> None:
        for path in paths:
            await source.run(path)

    asyncio.run(run())
    return sink.records


def hft(name: str) -> Path:
    return shared_data_dir() / "binance-hft" / name


def without_line(source: Path, target: Path, pick: str, nth: int) -> dict[str, object]:
    """Copy ``source`` without its ``nth`` line containing ``pick``; returns that event."""
    lines = gzip.open(source, "rt").read().splitlines(keepends=True)
    hits = [n for n, line in enumerate(lines) if pick in line]
    removed = hits[nth]
    target.write_text("".join(lines[:removed] + lines[removed + 1 :]))
    event: dict[str, object] = orjson.loads(lines[removed].split(" ", 1)[1])["data"]
    return event


def test_spot_replay_has_no_gap_and_publishes_books_and_every_trade() -> None:
    records = replay([hft(name) for name in SPOT])
    kinds = Counter(type(r).__name__ for r in records)
    assert [r for r in records if isinstance(r, GapEvent | DeadLetter)] == []
    trades = [r for r in records if isinstance(r, Trade)]
    raw_trades = sum(1 for name in SPOT for line in gzip.open(hft(name), "rt") if '@trade"' in line)
    assert len(trades) == raw_trades == kinds["Trade"]
    ids = [t.sequence for t in trades]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    books = [r for r in records if isinstance(r, BookSnapshot)]
    assert books and all(len(b.bids) == len(b.asks) == 5 for b in books)
    assert all(b.bids[0][0] < b.asks[0][0] for b in books), "a crossed book was published"


def test_a_missing_delta_is_one_gap_of_the_book_and_trades_keep_flowing(
    tmp_path: Path,
) -> None:
    damaged = tmp_path / "spot_btcusdt_20240808"
    lost = without_line(hft(SPOT[0]), damaged, "@depth", 3000)
    records = replay([damaged])
    (gap,) = [r for r in records if isinstance(r, GapEvent)]
    assert (gap.channel, gap.cause, gap.symbol) == ("book", "sequence_gap", "BTC-USDT")
    assert gap.missing == int(str(lost["u"])) - int(str(lost["U"])) + 1
    after = records[records.index(gap) :]
    assert any(isinstance(r, Trade) for r in after)
    assert not any(isinstance(r, BookSnapshot) for r in after), "no snapshot to resync from"


def test_a_missing_trade_is_a_counted_trade_gap(tmp_path: Path) -> None:
    damaged = tmp_path / "spot_btcusdt_20240808"
    lost = without_line(hft(SPOT[0]), damaged, '@trade"', 100)
    (gap,) = [r for r in replay([damaged]) if isinstance(r, GapEvent)]
    assert (gap.channel, gap.cause, gap.missing) == ("trades", "trades_lost", 1)
    assert gap.from_sequence == int(str(lost["t"])) - 1
    assert gap.to_sequence == int(str(lost["t"])) + 1


def test_a_file_from_another_endpoint_needs_exchange_and_then_parses_the_same(
    tmp_path: Path,
) -> None:
    original = shared_data_dir() / "recorded" / "BINANCE.ws.1.0"
    moved = tmp_path / "session.ws"
    moved.write_text(original.read_text().replace("stream.binance.com", "stream.example.org"))
    with pytest.raises(ConfigError, match="--exchange"):
        replay([moved])
    assert replay([moved], exchange="binance") == replay([original])


def test_cli_to_stdout_prints_typed_json_lines(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    path = shared_data_dir() / "recorded" / "BINANCE.ws.1.0"
    assert main(["ingest", "--replay", str(path), "--to-stdout"]) == 0
    captured = capsysbinary.readouterr()
    lines = [orjson.loads(line) for line in captured.out.splitlines()]
    kinds = Counter(line["type"] for line in lines)
    assert kinds["dead_letter"] == 2, "the kline messages are dead letters, not skipped"
    assert kinds["ticker"] == 84 and kinds["trade"] == 2
    assert b"BINANCE.ws.1.0: 266 messages" in captured.err


def test_cli_rejects_a_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["ingest", "--replay", str(tmp_path / "nope"), "--to-stdout"]) == 2
    assert "no such recording" in capsys.readouterr().err
