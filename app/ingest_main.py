"""``marketprism ingest``: settings -> venue feeds (or a replay) -> Kafka or stdout.

The composition root of the collection layer: it picks the venues, symbols
and channels, the URLs (live by default, the simulator through
``MARKETPRISM_EXCHANGES__<NAME>__WS_URL``/``REST_URL``), and the sink.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from app.metrics import MeteredSink
from app.scheduler import Scheduler
from app.settings import Settings
from app.topics import TOPIC_MODELS, ensure_topics, topic_name
from app.web_metrics import serving_ingest_metrics
from ingest.feed import VenueFeed
from ingest.jobs import UNTRACKED, JobRegistry
from ingest.producer import KafkaRecordSink
from ingest.rebase import RebasedSink, shift_to_now
from ingest.registry import VENUES
from ingest.replay import Replay, ReplayProgress
from ingest.rest_client import RestClient
from ingest.runner import run_feeds
from ingest.sink import JsonLinesSink, RecordSink
from models import Record
from models.exceptions import ConfigError

logger = logging.getLogger(__name__)


def topic_map(settings: Settings) -> dict[type[Record], str]:
    return {model: topic_name(settings.topics, name) for name, model in TOPIC_MODELS.items()}


def kafka_sink(settings: Settings) -> KafkaRecordSink:
    kafka = settings.kafka
    return KafkaRecordSink(
        kafka.bootstrap_servers,
        topic_map(settings),
        client_id=f"{kafka.client_id}-ingest",
        linger_ms=kafka.producer_linger_ms,
        compression=kafka.producer_compression,
        max_buffered=kafka.producer_buffer,
    )


def kafka_or_fail(sink: KafkaRecordSink | None) -> KafkaRecordSink:
    if sink is None:
        raise ConfigError("no sink: pass --to-stdout or configure Kafka")
    return sink


def build_feeds(
    settings: Settings,
    sink: RecordSink,
    *,
    exchanges: Sequence[str] | None = None,
    symbols: Sequence[str] | None = None,
    channels: Sequence[str] | None = None,
    jobs: JobRegistry = UNTRACKED,
) -> list[VenueFeed]:
    """One feed per venue: the ``exchanges`` given, or every enabled one; their REST
    polls, book publishers and trade backfills report into ``jobs``."""
    names = list(exchanges) if exchanges else list(settings.enabled_exchanges)
    feeds = []
    for name in names:
        kind = VENUES.get(name)
        config = settings.exchanges.get(name)
        if kind is None or config is None:
            raise ConfigError(f"unknown exchange {name!r} (known: {', '.join(VENUES)})")
        wanted = list(symbols or config.symbols)
        try:
            venue = kind(symbols=wanted)
        except ValueError as exc:
            raise ConfigError(f"{name}: {exc}") from exc
        rest = RestClient(
            config.rest_url or kind.rest_url, weight_per_minute=kind.rest_weight_per_minute
        )
        polls = {
            "open_interest": settings.polling.open_interest_seconds,
            "funding": settings.polling.funding_seconds,
        }
        feeds.append(
            VenueFeed(
                venue,
                symbols=wanted,
                channels=list(channels or config.channels),
                sink=sink,
                ws_url=config.ws_url,
                rest=rest,
                options=settings.ingest,
                poll_seconds=polls,
                jobs=jobs,
            )
        )
    return feeds


async def run_ingest(
    settings: Settings,
    *,
    to_stdout: bool = False,
    exchanges: Sequence[str] | None = None,
    symbols: Sequence[str] | None = None,
    channels: Sequence[str] | None = None,
    replay: Sequence[Path] = (),
    duration: float | None = None,
    rebase: bool = False,
) -> int:
    """Collect live (until SIGINT/SIGTERM or ``duration``, serving ``/metrics`` and the
    health pages from before Kafka answers) or replay files, then flush."""
    missing = [str(path) for path in replay if not path.is_file()]
    if missing:
        raise ConfigError(f"no such recording: {', '.join(missing)}")
    stdout_sink = JsonLinesSink() if to_stdout else None
    kafka = None if to_stdout else kafka_sink(settings)
    sink: RecordSink = stdout_sink if stdout_sink is not None else kafka_or_fail(kafka)
    try:
        if replay:
            await _connect(settings, kafka)
            for path in replay:
                # --rebase: the recording ends now (see ingest.rebase).
                target = RebasedSink(sink, shift_to_now(path)) if rebase else sink
                await _replay(path, target, settings, exchanges)
        else:
            meter = MeteredSink(sink) if settings.ingest.metrics_port else None
            scheduler = Scheduler()
            feeds = build_feeds(
                settings,
                meter or sink,
                exchanges=exchanges,
                symbols=symbols,
                channels=channels,
                jobs=scheduler,
            )
            producer = None if kafka is None else kafka.stats
            async with serving_ingest_metrics(
                settings, feeds, producer=producer, meter=meter, scheduler=scheduler
            ):
                await _connect(settings, kafka)
                await run_feeds(feeds, _stop_event(duration))
    finally:
        if kafka is not None:
            await kafka.stop()
            stats = kafka.stats
            logger.info("delivered %d records to Kafka", stats.delivered)
        if stdout_sink is not None:
            stdout_sink.flush()
    return 0


async def _connect(settings: Settings, kafka: KafkaRecordSink | None) -> None:
    if kafka is not None:
        await ensure_topics(settings)
        await kafka.start()


async def _replay(
    path: Path, sink: RecordSink, settings: Settings, exchanges: Sequence[str] | None
) -> None:
    if exchanges and len(exchanges) > 1:
        raise ConfigError("--replay takes at most one --exchange")
    exchange = exchanges[0] if exchanges else None
    replay = Replay(sink, exchange=exchange, options=settings.ingest, progress=_progress(path))
    done = await replay.run(path)
    counts: dict[str, int] = {}
    for router in replay.routers.values():
        counts.update(router.published)
    print(
        f"{path.name}: {done.messages} messages -> {done.records} records "
        f"({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})",
        file=sys.stderr,
    )


def _progress(path: Path) -> Callable[[ReplayProgress], None]:
    def report(progress: ReplayProgress) -> None:
        end = "\r" if sys.stderr.isatty() else "\n"
        print(
            f"{path.name}: {progress.messages} messages, {progress.records} records "
            f"({progress.rate:,.0f} msg/s)",
            end=end,
            file=sys.stderr,
            flush=True,
        )

    return report


def _stop_event(duration: float | None) -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    if duration is not None:
        loop.call_later(duration, stop.set)
    return stop
