"""WindowProcessor: batches of one partition in, records and table writes out; a crash
at any write restores from the table with no hole and no double count."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from agents.detection.engine import DetectionEngine
from agents.processing import Output, TableWrites, TradeEntry, WindowProcessor
from agents.trade_wire import TradeReader
from agents.window_state import KeyState, parse_table_key
from models import PriceAlert, Side, Trade, WindowStats
from models.codec import encode
from tables.clock import ManualClock
from tables.pipeline import WindowPlan
from tables.tick import SECOND_US, Tick, from_epoch_us
from tests.unit.agents.market import interleave, market
from tests.unit.sinks.factories import trade

PLAN = WindowPlan(tumbling_seconds=(1.0, 60.0), hopping_seconds=300.0, hopping_step_seconds=60.0)
BATCH = 97


def to_trade(key: str, tick: Tick, trade_id: int) -> Trade:
    exchange, _, symbol = key.partition(":")
    return trade(
        trade_id,
        at=from_epoch_us(tick.ts_us),
        symbol=symbol,
        exchange=exchange,
        price=str(tick.price),
        quantity=str(tick.quantity),
        side=Side.BUY if tick.buy else Side.SELL,
    )


def entries(seconds: float = 900.0, jump_at: float = 600.0) -> list[TradeEntry]:
    calm = market("binance:ETH-USDT", seconds=seconds, price=2500, sigma=2e-4, rate=8, seed=2)
    jumpy = market(
        "binance:BTC-USDT",
        seconds=seconds,
        price=60000,
        sigma=2e-4,
        rate=8,
        seed=1,
        jumps={jump_at: 0.05},
    )
    stream = interleave(calm, jumpy)
    return [
        TradeEntry(key, offset, to_trade(key, tick, offset))
        for offset, (key, tick) in enumerate(stream)
    ]


def new_processor(clock: ManualClock) -> WindowProcessor:
    return WindowProcessor(PLAN, DetectionEngine(), clock=clock)


def batches(items: list[TradeEntry]) -> list[list[TradeEntry]]:
    return [items[i : i + BATCH] for i in range(0, len(items), BATCH)]


def apply(table: dict[str, bytes], writes: TableWrites) -> None:
    for key, value in writes.items():
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value


def finish(processor: WindowProcessor, clock: ManualClock, last_us: int) -> Output:
    clock.set(last_us + 3600 * SECOND_US)
    return processor.advance_idle(0)


class Collected:
    """Records sent, by identity; a second, different version of one is a failure."""

    def __init__(self) -> None:
        self.windows: dict[tuple[str, str, float, str], bytes] = {}
        self.alerts: dict[tuple[str, str, str], bytes] = {}

    def add(self, out: Output) -> None:
        for stats in out.analytics:
            self._put(self.windows, _window_id(stats), encode(stats))
        for alert in out.alerts:
            self._put(self.alerts, _alert_id(alert), encode(alert))

    @staticmethod
    def _put(into: dict, key: tuple, value: bytes) -> None:  # type: ignore[type-arg]
        held = into.setdefault(key, value)
        assert held == value, f"two versions of {key}"


def _window_id(stats: WindowStats) -> tuple[str, str, float, str]:
    return (stats.key, stats.window_kind, stats.window_seconds, stats.window_start.isoformat())


def _alert_id(alert: PriceAlert) -> tuple[str, str, str]:
    return (alert.alert_id, alert.status, alert.timestamp.isoformat())


def assert_close(got: object, want: object) -> None:
    if isinstance(want, float) and isinstance(got, float):
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12)
    elif isinstance(want, dict) and isinstance(got, dict):
        assert got.keys() == want.keys()
        for field_name, value in want.items():
            assert_close(got[field_name], value)
    elif isinstance(want, list) and isinstance(got, list):
        assert len(got) == len(want)
        for a, b in zip(got, want, strict=True):
            assert_close(a, b)
    else:
        assert got == want


def clean_run(items: list[TradeEntry]) -> Collected:
    clock = ManualClock()
    processor = new_processor(clock)
    processor.restore_partition(0, [])
    collected = Collected()
    for batch in batches(items):
        collected.add(processor.process(0, batch))
    collected.add(finish(processor, clock, _last_us(items)))
    return collected


def _last_us(items: list[TradeEntry]) -> int:
    return max(Tick.from_trade(e.trade).ts_us for e in items)


@pytest.fixture(scope="module")
def stream() -> list[TradeEntry]:
    return entries()


@pytest.fixture(scope="module")
def clean(stream: list[TradeEntry]) -> Collected:
    return clean_run(stream)


def test_a_jump_alerts_once_and_the_windows_are_published(clean: Collected) -> None:
    firing = [key for key in clean.alerts if key[1] == "firing"]
    assert len(firing) == 1
    assert firing[0][0].startswith("binance:BTC-USDT:")
    kinds = {(key[1], key[2]) for key in clean.windows}
    assert kinds == {("tumbling", 1.0), ("tumbling", 60.0), ("hopping", 300.0)}
    minute = [k for k in clean.windows if k[1] == "tumbling" and k[2] == 60.0]
    assert len(minute) == 2 * 15


@pytest.mark.parametrize("seed", range(8))
def test_a_crash_at_any_write_loses_and_double_counts_nothing(
    stream: list[TradeEntry], clean: Collected, seed: int
) -> None:
    rng = random.Random(seed)
    parts = batches(stream)
    crash = rng.randrange(10, len(parts) - 5)  # the batch whose writes were cut short
    committed = rng.randrange(max(0, crash - 8), crash)  # batches whose offsets were committed
    clock = ManualClock()
    first = new_processor(clock)
    first.restore_partition(0, [])
    table: dict[str, bytes] = {}
    collected = Collected()
    for index, batch in enumerate(parts[: crash + 1]):
        out = first.process(0, batch)
        collected.add(out)  # sent before the crash: downstream has them
        writes = list(out.writes.items())
        if index == crash:
            writes = writes[: rng.randrange(len(writes) + 1)]
        apply(table, dict(writes))

    second = new_processor(clock)
    restored = second.restore_partition(0, table.items())
    assert restored == len({parse_table_key(k)[0] for k in table if not k.startswith("#")})
    replayed = 0
    for batch in parts[committed + 1 :]:
        out = second.process(0, batch)
        replayed += out.replayed
        collected.add(out)
    collected.add(finish(second, clock, _last_us(stream)))

    assert collected.windows == clean.windows
    assert set(collected.alerts) == set(clean.alerts)
    for key, alert in clean.alerts.items():
        # the view's baseline merges its buckets in another order after a restore:
        # its statistics may differ in the last bits, nothing else
        assert_close(orjson.loads(collected.alerts[key]), orjson.loads(alert))
    assert replayed > 0 or committed + 1 == crash


def test_the_table_holds_one_state_per_key_and_a_bounded_ring(stream: list[TradeEntry]) -> None:
    clock = ManualClock()
    processor = new_processor(clock)
    processor.restore_partition(0, [])
    table: dict[str, bytes] = {}
    for batch in batches(stream):
        apply(table, processor.process(0, batch).writes)
    states = {k: KeyState.from_bytes(v) for k, v in table.items() if "#" not in k}
    assert set(states) == {"binance:BTC-USDT", "binance:ETH-USDT"}
    assert states["binance:BTC-USDT"].offset == max(
        e.offset for e in stream if e.key == "binance:BTC-USDT"
    )
    ring = [k for k in table if parse_table_key(k)[1] is not None]
    assert 0 < len(ring) <= 2 * (PLAN.view_seconds + PLAN.grace_seconds + 2)
    assert "tumbling_60s" in states["binance:BTC-USDT"].latest_json()


def test_late_trades_are_dead_lettered_with_the_reason(stream: list[TradeEntry]) -> None:
    clock = ManualClock()
    processor = new_processor(clock)
    processor.restore_partition(0, [])
    head = stream[:2000]
    processor.process(0, head)
    old = head[0]
    late = TradeEntry(old.key, head[-1].offset + 1, old.trade)
    out = processor.process(0, [late])
    assert out.late == 1 and len(out.dead_letters) == 1
    letter = out.dead_letters[0]
    assert letter.reason.startswith("late event")
    assert letter.offset == late.offset and letter.key == old.key
    assert orjson.loads(letter.raw)["trade_id"] == old.trade.trade_id


def test_a_replayed_offset_is_skipped(stream: list[TradeEntry]) -> None:
    clock = ManualClock()
    processor = new_processor(clock)
    processor.restore_partition(0, [])
    processor.process(0, stream[:500])
    again = processor.process(0, stream[400:600])
    assert again.replayed == 100 and again.trades == 100


def test_trades_read_off_their_bytes_give_the_same_output(stream: list[TradeEntry]) -> None:
    reader = TradeReader()
    for entry in stream:
        reader.learn(entry.trade)  # every instrument vouched for
    wire = [reader.read(encode(e.trade), e.offset) for e in stream]
    assert all(w is not None for w in wire)

    def run(items: list[Any]) -> list[tuple[object, ...]]:
        clock = ManualClock()
        processor = new_processor(clock)
        processor.restore_partition(0, [])
        outs = [processor.process(0, batch) for batch in batches(items)]
        outs.append(finish(processor, clock, _last_us(stream)))
        return [
            ([encode(s) for s in o.analytics], [encode(a) for a in o.alerts], o.writes, o.trades)
            for o in outs
        ]

    assert run(wire) == run(stream)
