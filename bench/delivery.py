"""Record delivery in the worker: Faust's stock consumer vs our eager delivery.

Faust hands each consumed record to its streams through ``Service.wait_first``,
four asyncio tasks per record; :mod:`app.eager_delivery` runs the delivery at
once and falls back to that path only when it blocks (see the module). This
bench pre-loads ``--trades`` real trades (the tape of ``bench/processing.py``)
into a fresh topic and, in the same process and run, consumes all of them with
each consumer, in the order stock, eager, eager, stock (so drift on a shared
machine hits both alike), two ways:

* **count**: a Faust agent that only counts its events (``async for``): the
  whole per-record cost of a Faust worker with nothing else to do;
* **worker**: the real windows/detector worker of ``bench/processing.py``.

Reported per side: events per second and per CPU second of this process
(median of its two runs) and ``cpu_us_per_event``; ``eager_over_stock`` is the
ratio of events per CPU second. Prints one JSON object. Run:
``python bench/delivery.py [--bootstrap HOST:PORT] [--trades N]`` (a broker is
started for the run when none answers at ``--bootstrap``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # bench/ingest.py would shadow the ingest package

import faust  # noqa: E402

from app.faust_app import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.topics import define_topics, ensure_topics, topic_name  # noqa: E402
from bench.processing import (  # noqa: E402
    Result,
    Span,
    bench_settings,
    kafka,
    preload,
    run_app,
    run_ours,
    synthetic_tape,
)
from tables.tick import SECOND_US  # noqa: E402

ORDER = (False, True, True, False)  #: eager delivery on/off, run by run


def with_delivery(settings: Settings, eager: bool) -> Settings:
    kafka_conf = settings.kafka.model_copy(update={"eager_delivery": eager})
    return settings.model_copy(update={"kafka": kafka_conf})


async def run_count(settings: Settings, counts: list[int]) -> Result:
    """A Faust agent that counts the trades it is given, nothing more."""
    app = create_app(settings)
    topics = define_topics(app, settings)
    total, span, seen = sum(counts), Span(), [0]

    @app.agent(topics.trades, name="count")
    async def count(stream: Any) -> None:
        async for _trade in stream:
            if not seen[0]:
                span.begin()
            seen[0] += 1
            if seen[0] == total:
                span.end()

    return await run_app(app, settings, counts, span, lambda: seen[0])


def summary(results: list[Result]) -> dict[str, Any]:
    rates = [r.events / r.seconds for r in results]
    per_cpu = [r.events / r.cpu_seconds for r in results]
    return {
        "events_per_s": round(statistics.median(rates)),
        "events_per_cpu_s": round(statistics.median(per_cpu)),
        "cpu_us_per_event": round(1e6 / statistics.median(per_cpu), 1),
        "runs_events_per_cpu_s": [round(x) for x in per_cpu],
    }


async def measure(args: argparse.Namespace, bootstrap: str, store: Path) -> dict[str, Any]:
    run = uuid.uuid4().hex[:10]
    prefix = f"bench-delivery-{run}."
    base = bench_settings(bootstrap, prefix, args.partitions, store, f"bench-delivery-{run}")
    await ensure_topics(base)
    tape = synthetic_tape(
        args.trades, args.symbols, 4_000.0, args.seed, time.time_ns() // 1000 - 60 * SECOND_US
    )
    counts = await preload(bootstrap, topic_name(base.topics, "trades"), args.partitions, tape)
    del tape
    report: dict[str, Any] = {"trades": sum(counts), "partitions": args.partitions}
    for name, runner in (("count", run_count), ("worker", run_ours)):
        results: dict[bool, list[Result]] = {False: [], True: []}
        for n, eager in enumerate(ORDER):
            app_id = f"bench-delivery-{name}-{n}-{run}"
            settings = with_delivery(
                bench_settings(bootstrap, prefix, args.partitions, store, app_id), eager
            )
            result = await runner(settings, counts)
            results[eager].append(result)
            label = "eager" if eager else "stock"
            print(f"{name} {label}: {result.to_json()}", file=sys.stderr)
        stock, eager_ = summary(results[False]), summary(results[True])
        report[name] = {
            "stock": stock,
            "eager": eager_,
            "eager_over_stock": round(eager_["events_per_cpu_s"] / stock["events_per_cpu_s"], 2),
        }
    return report


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092", help="broker host:port")
    parser.add_argument("--trades", type=int, default=200_000)
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.trades < 1000 or args.symbols < 2 or args.partitions < 1:
        parser.error("need --trades >= 1000, --symbols >= 2, --partitions >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    report: dict[str, Any] = {"bench": "delivery"}
    with tempfile.TemporaryDirectory(prefix="marketprism-bench-delivery-") as tmp:
        with kafka(args.bootstrap) as (bootstrap, started):
            report.update(asyncio.run(measure(args, bootstrap, Path(tmp))))
            report["broker"] = "started for the run" if started else bootstrap
    report["python"] = platform.python_version()
    report["faust"] = faust.__version__
    report["cpus"] = os.cpu_count()
    report["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
