"""Event time -> alert latency, measured on what reached Kafka.

The latency step's simulator moves a different symbol by ``JUMP_PCT`` every few seconds.
Afterwards the step's trades are read back: a key's *onset* is its first trade at least
half the jump away from the trade before (its Kafka timestamp, the exchange event time).
The alerts topic stamps ``LogAppendTime``, so an alert's Kafka timestamp is when the broker
appended it (same machine, same clock). For each onset, its detection is the key's first
firing or update alert appended within ``MATCH_SECONDS`` and judging a bucket that ends
after the onset: latency = append time - onset, and (for the same alert) append time -
the alert's own event time, the end of the 1 s bucket it judged.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.endtoend.pipeline import Deployment
from models import PriceAlert, decode
from models.alert import AlertStatus
from models.exceptions import MarketPrismError

JUMP_PCT = 10.0  #: above every class's jump band cap (alts: 8 %), so each move is news
MATCH_SECONDS = 30.0
LOG_APPEND_TIME = 1  #: a Kafka record's timestamp type
TARGET_P99_MS = 500.0


def jump_plan(symbols: list[str], first_at: float, every: float, last_at: float) -> list[str]:
    """``--anomaly`` values: +JUMP_PCT % on a different symbol every ``every`` seconds
    (market time), from ``first_at`` to at most ``last_at``."""
    moves, at = [], first_at
    for symbol in symbols:
        if at > last_at:
            break
        moves.append(f"{at:g}:{symbol}:jump:{JUMP_PCT:g}")
        at += every
    return moves


async def read_since(bootstrap: str, topic: str, partitions: int, since_ms: int) -> list[Any]:
    """Every record of ``topic`` with a timestamp from ``since_ms`` on, up to its end now,
    in offset order per partition."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        starts = await consumer.offsets_for_times(dict.fromkeys(tps, since_ms))
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            at = starts.get(tp)
            consumer.seek(tp, ends[tp] if at is None else at.offset)
        left = {tp for tp in tps if await consumer.position(tp) < ends[tp]}
        records: list[Any] = []
        deadline = time.monotonic() + 120
        while left:
            if time.monotonic() > deadline:
                raise MarketPrismError(f"reading {topic} did not reach its end")
            for tp, batch in (await consumer.getmany(timeout_ms=1000)).items():
                records.extend(batch)
                if batch and batch[-1].offset + 1 >= ends[tp]:
                    left.discard(tp)
        return records
    finally:
        await consumer.stop()


def onsets(trades: Iterable[Any], threshold: float) -> dict[str, list[int]]:
    """Per key, the event times (ms) of trades at least ``threshold`` (relative) away from
    the key's trade before."""
    last: dict[str, float] = {}
    found: dict[str, list[int]] = defaultdict(list)
    for record in trades:
        key = record.key.decode()
        price = float(orjson.loads(record.value)["price"])
        before = last.get(key)
        last[key] = price
        if before is not None and abs(price / before - 1) >= threshold:
            found[key].append(record.timestamp)
    return dict(found)


def percentiles(values: list[int]) -> dict[str, int | None]:
    if not values:
        return {"n": 0, "p50": None, "p99": None, "max": None}
    p50, p99 = np.percentile(values, [50, 99])
    return {"n": len(values), "p50": round(p50), "p99": round(p99), "max": max(values)}


def alert_latency(alert_records: list[Any], moved: dict[str, list[int]]) -> dict[str, Any]:
    """Each onset's detection (see the module docstring), in milliseconds."""
    alerts: list[tuple[int, int, PriceAlert]] = []  # (appended, event time, alert)
    for record in alert_records:
        if record.timestamp_type != LOG_APPEND_TIME:
            raise MarketPrismError("the alerts topic does not stamp LogAppendTime")
        alert = decode(record.value, PriceAlert)
        alerts.append((record.timestamp, round(alert.timestamp.timestamp() * 1000), alert))
    alerts.sort(key=lambda item: item[0])
    from_move, from_bucket, used = [], [], set()
    statuses: Counter[str] = Counter()
    for key, times in moved.items():
        for onset in times:
            for n, (appended, judged, alert) in enumerate(alerts):
                if (
                    alert.key == key
                    and alert.status is not AlertStatus.RESOLVED
                    and onset <= appended <= onset + MATCH_SECONDS * 1000
                    and judged > onset
                ):
                    used.add(n)
                    from_move.append(appended - onset)
                    from_bucket.append(appended - judged)
                    statuses[str(alert.status)] += 1
                    break
    seen = sum(len(t) for t in moved.values())
    return {
        "moves_seen": seen,
        "detected": len(from_move),
        "missed": seen - len(from_move),
        "statuses": dict(statuses),
        "other_alerts": len(alerts) - len(used),
        "from_move_ms": percentiles(from_move),
        "from_bucket_end_ms": percentiles(from_bucket),
    }


async def measure_latency(bootstrap: str, dep: Deployment, since_ms: int) -> dict[str, Any]:
    """The latency of the moves made since ``since_ms`` on ``dep``'s topics."""
    trades = await read_since(bootstrap, dep.topic("trades"), dep.partitions("trades"), since_ms)
    alerts = await read_since(bootstrap, dep.topic("alerts"), dep.partitions("alerts"), since_ms)
    result = alert_latency(alerts, onsets(trades, JUMP_PCT / 200))
    p99 = result["from_move_ms"]["p99"]
    return {
        "grace_seconds": dep.grace_seconds,
        **result,
        "meets_target": p99 is not None and p99 < TARGET_P99_MS,
    }
