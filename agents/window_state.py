"""What the ``windows`` table holds per symbol, and how a pipeline is saved into it
and rebuilt from it.

One table, keyed like the source topic so Faust routes web requests by it:

* ``exchange:symbol`` -> :class:`KeyState`: everything about the key that is
  not a closed bucket of the detector's view: open 1 s buckets, open bigger
  tumbling windows, the hopping steps held, the volatility regime, the alert
  state, the Kafka offset applied through and the latest results. Written once
  per batch for every key the batch touched (never once per event).
* ``exchange:symbol#<start>`` -> one closed 1 s bucket of the detector's view,
  written once when it closes and deleted when it leaves the view; rebuilding
  the view reads them back instead of writing the whole ring every second.
* ``#watermark#<partition>`` -> the partition's watermark, written last in each
  batch (see :mod:`agents.processing` for why).

All three go to the same changelog partition as their source partition, in
write order, so what survives a crash is a prefix of what was written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from agents.detection.lifecycle import AlertState
from tables.pipeline import WindowPipeline
from tables.regime import RegimeState
from tables.trade_window import TradeWindowState

FORMAT = 1
RING_SEPARATOR = "#"
WATERMARK_PREFIX = "#watermark#"
RECENT_ALERTS = 20  #: alerts kept per key for the web views


def ring_key(key: str, start_us: int) -> str:
    return f"{key}{RING_SEPARATOR}{start_us}"


def watermark_key(partition: int) -> str:
    return f"{WATERMARK_PREFIX}{partition}"


def parse_table_key(table_key: str) -> tuple[str, int | None]:
    """``(key, None)`` for a key's state, ``(key, start)`` for a ring bucket."""
    key, sep, start = table_key.rpartition(RING_SEPARATOR)
    if not sep or not key or not start.isdigit():
        return table_key, None
    return key, int(start)


Row = list[Any]


@dataclass(slots=True)
class KeyState:
    """One key's persisted state (the value of ``exchange:symbol``)."""

    partition: int
    offset: int = -1  #: the highest source offset whose trade is included
    max_event_us: int | None = None
    closed_through_us: int = 0  #: end of the last 1 s bucket closed
    open_buckets: list[tuple[int, Row]] = field(default_factory=list)
    rollups: dict[int, list[tuple[int, Row]]] = field(default_factory=dict)
    hop_steps: list[tuple[int, Row]] = field(default_factory=list)
    hop_next_end: int | None = None
    regime: RegimeState | None = None
    alert: AlertState = field(default_factory=AlertState)
    latest: dict[str, bytes] = field(default_factory=dict)  #: window label -> WindowStats JSON
    recent_alerts: list[bytes] = field(default_factory=list)  #: PriceAlert JSON, newest last
    #: Not stored: the rows last captured, by the state they were made of (states are
    #: immutable, and most of a key's windows have not changed since its last write).
    rows: dict[int, tuple[TradeWindowState, Row]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {
                "v": FORMAT,
                "partition": self.partition,
                "offset": self.offset,
                "max_event_us": self.max_event_us,
                "closed_through_us": self.closed_through_us,
                "open": self.open_buckets,
                "rollups": {str(size): windows for size, windows in self.rollups.items()},
                "hop_steps": self.hop_steps,
                "hop_next_end": self.hop_next_end,
                "regime": None if self.regime is None else list(self.regime),
                "alert": self.alert,  # a dataclass: orjson writes it as AlertState.to_bytes
                "latest": {k: orjson.Fragment(v) for k, v in self.latest.items()},
                "recent_alerts": [orjson.Fragment(a) for a in self.recent_alerts],
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> KeyState:
        raw = orjson.loads(data)
        if raw.get("v") != FORMAT:
            raise ValueError(f"unknown KeyState format {raw.get('v')!r}")
        regime = raw["regime"]
        return cls(
            partition=raw["partition"],
            offset=raw["offset"],
            max_event_us=raw["max_event_us"],
            closed_through_us=raw["closed_through_us"],
            open_buckets=[(s, r) for s, r in raw["open"]],
            rollups={int(k): [(s, r) for s, r in v] for k, v in raw["rollups"].items()},
            hop_steps=[(s, r) for s, r in raw["hop_steps"]],
            hop_next_end=raw["hop_next_end"],
            regime=None if regime is None else RegimeState(*regime),
            alert=AlertState.from_json(raw["alert"]),
            latest={k: orjson.dumps(v) for k, v in raw["latest"].items()},
            recent_alerts=[orjson.dumps(a) for a in raw["recent_alerts"]],
        )

    def latest_json(self) -> dict[str, Any]:
        return {label: orjson.loads(stats) for label, stats in self.latest.items()}

    def alerts_json(self) -> list[Any]:
        return [orjson.loads(alert) for alert in self.recent_alerts]


def capture(pipeline: WindowPipeline, key: str, state: KeyState) -> None:
    """Copy ``key``'s window state out of ``pipeline`` into ``state``."""
    to_row = pipeline.accumulator.to_row
    held, rows = state.rows, {}

    def row_of(window: TradeWindowState) -> Row:
        cached = held.get(id(window))
        row = cached[1] if cached is not None and cached[0] is window else to_row(window)
        rows[id(window)] = (window, row)
        return row

    state.open_buckets = [(s, row_of(st)) for s, st in pipeline.base.open_of(key)]
    state.rollups = {
        rollup.window.size_us: [(s, row_of(st)) for s, st in rollup.open_of(key)]
        for rollup in pipeline.all_rollups()
    }
    steps, next_end = pipeline.hopping.steps_of(key)
    state.hop_steps = [(s, row_of(st)) for s, st in steps]
    state.hop_next_end = next_end
    state.regime = pipeline.views.regime_of(key)
    state.rows = rows


def restore(
    pipeline: WindowPipeline,
    key: str,
    state: KeyState,
    view_buckets: list[tuple[int, TradeWindowState]],
) -> None:
    """Rebuild ``key`` in ``pipeline`` from its table value and its view's buckets."""
    from_row = pipeline.accumulator.from_row
    for start, row in state.open_buckets:
        pipeline.base.restore(key, start, from_row(row))
    for rollup in pipeline.all_rollups():
        for start, row in state.rollups.get(rollup.window.size_us, []):
            rollup.restore(key, start, from_row(row))
    pipeline.hopping.restore(
        key, [(s, from_row(r)) for s, r in state.hop_steps], state.hop_next_end
    )
    regime = state.regime if state.regime is not None else pipeline.views.regime.initialize()
    pipeline.views.restore(key, sorted(view_buckets), regime)


def forget(pipeline: WindowPipeline, key: str) -> None:
    """Drop ``key`` from ``pipeline`` (its partition went to another worker)."""
    pipeline.base.drop_key(key)
    for rollup in pipeline.all_rollups():
        rollup.drop_key(key)
    pipeline.hopping.drop_key(key)
    pipeline.views.drop_key(key)
