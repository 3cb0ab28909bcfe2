"""The Parquet sink agents: each data type's topic -> its :class:`ParquetWriter`.

A Kafka event is acknowledged only once its row is durable. Faust commits, per
partition, the end of the longest run of acknowledged offsets, and it does not
check that the run starts at the committed offset once a rebalance has reset
it; so a sink acknowledges strictly in offset order per partition, and only the
events below the writer's ``committable()`` offset (plus those dead-lettered on
the way). Events taken from the agent's channel (:func:`unacked_batches`) wait
unacknowledged while their rows sit in a buffer (up to
``parquet.roll_seconds``): that only holds the committed offset back. Faust's
``stream_buffer_maxsize`` bounds what waits in a stream's queue, not what a
sink holds; the writer's roll limits bound that.

A background task (every ``sinks.flush_interval_seconds``) writes buffers past
their age and acknowledges what became durable; files are written in a worker
thread (pyarrow's encoding and the fsyncs release the GIL), under the sink's
lock, so the other agents, the windows and detector first, keep running while a
minute's files are written; its rounds show on ``/scheduler`` and its progress
on ``/status`` and ``/metrics`` (:mod:`agents.sink_report`). A failing write
keeps the rows, acknowledges nothing, stops taking events (Faust's
back-pressure then holds the fetcher) and is retried with a capped exponential
back-off; the status shows it and the log says it once per failure episode.

Rebalance and shutdown (Faust rebalances eagerly: every partition is revoked).
At a revocation Faust suspends the flow and clears the stream queues; with
``stream_wait_empty`` it then waits until every event a stream has taken is
acknowledged. The background task sees the suspended flow and flushes every
buffer, acknowledging what became durable; then the ``on_partitions_revoked``
signal, which Faust awaits before the worker rejoins the group, drains again
and commits. So the revoked partitions' durable offsets are committed, and
their files complete, before a next owner reads them, with or without
``stream_wait_empty``. Events of the revoked consumer generation that reach the
sink later (from a stream's buffer) are released: not written, not
acknowledged. At shutdown the ``on_before_shutdown`` signal drains and commits
while the consumer still runs. If a drain's flush fails, the partitions still
holding rows have them discarded and their events released unacknowledged
(taken out of the consumer's unacked set, which ends any wait of Faust's):
their offsets stay uncommitted and the next owner consumes them again.

Faust may deliver a record twice (it resumes the flow before it seeks to the
committed offsets after an assignment); the writer stores it once, and both
copies are acknowledged once it is durable.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import EventT

from agents.sink_report import SinkMeter, SinkStatus
from app.codecs import Undecodable
from app.metrics import WorkerMetrics
from app.scheduler import Every, Job, Scheduler
from app.settings import Settings, SinkSettings
from app.topics import Topics, topic_name
from models import DeadLetter, Record
from models.codec import encode
from sinks.base import RollPolicy
from sinks.exceptions import SinkWriteError
from sinks.parquet_writer import ParquetWriter
from sinks.schemas import SPECS

log = logging.getLogger(__name__)

Event = EventT[Any]
#: How often the background task looks for a suspended flow (rebalance, shutdown).
POLL_SECONDS = 0.1
#: How often a sink's batch that is not full looks for more events.
GATHER_POLL_SECONDS = 0.005


async def unacked_batches(stream: Any, max_: int, within: float) -> AsyncIterator[list[Event]]:
    """The events of an agent's ``stream`` in batches of at most ``max_``, gathered for
    ``within`` seconds after the first, taken straight from the channel's queue and
    acknowledged by nobody: the sink acknowledges each event once its row is durable.

    Faust's ``noack_take`` moves every event through the stream's iteration (a
    processor per event, the passive drainer, sensors) first: a large share of a
    busy worker's CPU. The agent is its channel's only reader. At a rebalance Faust
    clears the queue and reads on from the committed offsets; an event of a revoked
    consumer generation still queued is released by the sink (see the module).
    Ends when Faust stops the channel (it throws ``StopAsyncIteration`` into the queue).
    """
    queue = stream.channel.queue
    loop = asyncio.get_running_loop()
    while True:
        try:
            events = [await queue.get()]
        except StopAsyncIteration:
            return
        deadline = loop.time() + within
        while len(events) < max_:
            while len(events) < max_ and not queue.empty():
                events.append(queue.get_nowait())
            remaining = deadline - loop.time()
            if len(events) >= max_ or remaining <= 0:
                break
            await asyncio.sleep(min(GATHER_POLL_SECONDS, remaining))
        yield events


@dataclass
class _Entry:
    offset: int
    event: Event
    done: bool = False  #: handled without the writer (dead-lettered)


@dataclass
class _Failure:
    since: float
    since_utc: datetime
    backoff: float
    retry_at: float


class ParquetSinkAgent:
    """One data type: its agent's events, its writer, what waits for acknowledgement."""

    def __init__(
        self,
        app: faust.App,
        data_type: str,
        topic: str,
        writer: ParquetWriter,
        dead_letters: Any,
        conf: SinkSettings,
        meter: SinkMeter | None = None,
        *,
        dead_letter_bad: bool = True,
    ) -> None:
        self.app = app
        self.data_type = data_type
        #: False when another agent of the worker dead-letters the topic's bad records
        #: (the windows agent does for trades): they are skipped, not sent twice.
        self.dead_letter_bad = dead_letter_bad
        self.topic = topic
        self.writer = writer
        self.model = writer.spec.model
        self.dead_letters = dead_letters
        self.conf = conf
        self.meter = meter
        self.stream: Any = None
        self._pending: dict[int, deque[_Entry]] = {}
        self._backlog: deque[Event] = deque()  #: taken from the stream, not yet handled
        self._released: dict[int, int] = {}  #: partition -> generation released
        self._revoked_generation = -1  #: events of this generation or older: released
        self._seen: set[int] = set()  #: partitions with rows since the last drain
        self._lock = asyncio.Lock()
        self._resumed = asyncio.Event()
        self._failure: _Failure | None = None
        self._errors = 0
        self._next_flush = 0.0
        self._progress_at = time.monotonic()  #: last ack, or last time nothing waited
        self.dead_lettered = self.discarded_rows = self.failure_episodes = 0
        self.skipped_bad = 0  #: bad records left to the agent that dead-letters them
        self.last_durable_at: datetime | None = None
        self.last_error: str | None = None
        self.last_error_at: datetime | None = None

    # -- the agent ---------------------------------------------------------------

    async def consume(self, stream: Any) -> None:
        """The agent body: batches of events, each acknowledged once durable."""
        self.stream = stream
        async for batch in unacked_batches(stream, self.conf.batch_max, self.conf.batch_seconds):
            self._backlog.extend(batch)
            while self._backlog:
                async with self._lock:
                    if self._failure is None:
                        await self._take_backlog()
                    await self._ack_ready()
                    if not self._backlog:
                        break
                    self._resumed.clear()
                # a write failed: the background task retries, or releases at a rebalance
                await self._resumed.wait()

    async def _take_backlog(self) -> bool:
        """Hand the backlog to the writer in order; stop and say False at a failure."""
        errors = self._errors
        while self._backlog:
            if await self._take(self._backlog[0]):
                self._backlog.popleft()
            if self._errors != errors:
                return False
        return True

    async def _take(self, event: Event) -> bool:
        message = event.message
        partition, offset = message.partition, message.offset
        if self._is_released(partition, message.generation_id):
            self._release(event)
            return True
        value = event.value
        if isinstance(value, self.model):
            try:
                self.writer.add(value, partition, offset)
            except SinkWriteError as exc:  # buffered; the file it completed was not written
                self._seen.add(partition)
                self._queue(partition).append(_Entry(offset, event))
                self._failed(exc)
                return True
            except Exception as exc:  # not buffered (e.g. its directory unreadable): retried
                self._failed(exc)
                return False
            self._seen.add(partition)
            self._queue(partition).append(_Entry(offset, event))
            return True
        if not self.dead_letter_bad:
            self.skipped_bad += 1
            self._queue(partition).append(_Entry(offset, event, done=True))
            return True
        if isinstance(value, Undecodable):
            reason = value.reason
        else:
            reason = f"not a {self.model.__name__}: {type(value).__name__}"
        try:
            await self._dead_letter(event, reason)
        except Exception as exc:
            self._failed(exc, writing=False)
            return False
        self._queue(partition).append(_Entry(offset, event, done=True))
        return True

    async def _dead_letter(self, event: Event, reason: str) -> None:
        """Send the record to the dead-letter topic and wait until Kafka has it."""
        message, value = event.message, event.value
        if isinstance(value, Undecodable):
            raw = value.raw
        elif isinstance(value, Record):
            raw = encode(value)
        else:
            raw = message.value if isinstance(message.value, bytes) else b""
        key = message.key.decode("utf-8", "replace") if isinstance(message.key, bytes) else None
        letter = DeadLetter.of(
            raw,
            source=message.topic,
            reason=f"parquet sink: {reason}",
            at=datetime.now(UTC),
            key=key,
            partition=message.partition,
            offset=message.offset,
        )
        delivery = await self.dead_letters.send(key=message.topic, value=letter)
        await delivery
        self.dead_lettered += 1
        log.warning(
            "%s sink: dead-lettered %s[%d]@%d: %s",
            self.data_type,
            message.topic,
            message.partition,
            message.offset,
            reason,
        )

    # -- acknowledgement ------------------------------------------------------------

    def _queue(self, partition: int) -> deque[_Entry]:
        queue = self._pending.get(partition)
        if queue is None:
            queue = self._pending[partition] = deque()
        return queue

    async def _ack_ready(self) -> None:
        """Acknowledge, in offset order per partition, every event that is durable
        (called after every write)."""
        if self.meter is not None:
            self.meter.written(self.writer)
        committable = self.writer.committable()
        acked = 0
        for partition, queue in self._pending.items():
            limit = committable.get(partition, 0)
            while queue and (queue[0].done or queue[0].offset < limit):
                queue.popleft().event.ack()
                acked += 1
        if acked:
            self.last_durable_at = datetime.now(UTC)
            if self.meter is not None:
                self.meter.committed(self.last_durable_at.timestamp())
        if acked or not self._waiting():
            self._progress_at = time.monotonic()

    def _waiting(self) -> bool:
        return bool(self._backlog) or any(self._pending.values())

    # -- failures -------------------------------------------------------------------

    def _failed(self, exc: BaseException, *, writing: bool = True) -> None:
        if writing and self.meter is not None:
            self.meter.failed()
        now = time.monotonic()
        self._errors += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        self.last_error_at = datetime.now(UTC)
        failure = self._failure
        if failure is None:
            backoff = self.conf.retry_min_seconds
            self._failure = _Failure(now, self.last_error_at, backoff, now + backoff)
            self.failure_episodes += 1
            log.error(
                "%s sink: %s; rows kept, nothing acknowledged, retrying with back-off "
                "(logged once until it recovers)",
                self.data_type,
                self.last_error,
                exc_info=not isinstance(exc, SinkWriteError),  # the writer logged its own
            )
        else:
            failure.backoff = min(failure.backoff * 2, self.conf.retry_max_seconds)
            failure.retry_at = now + failure.backoff

    def _recovered(self) -> None:
        failure, self._failure = self._failure, None
        if failure is not None:
            log.warning(
                "%s sink: writing again after %.1f s",
                self.data_type,
                time.monotonic() - failure.since,
            )
        self._resumed.set()

    async def _retry(self) -> None:
        """Write every buffer, then take the backlog: the failure is over when both work."""
        try:
            await asyncio.to_thread(self.writer.flush)
        except Exception as exc:
            self._failed(exc)
            return
        if await self._take_backlog():
            self._recovered()

    # -- the background task ----------------------------------------------------------

    async def tick(self, now: float, draining: bool) -> None:
        """Called every POLL_SECONDS by the background task."""
        async with self._lock:
            if draining:
                if self._backlog or self._seen or any(self._pending.values()):
                    await self._drain()
                return
            if self._failure is not None:
                if now >= self._failure.retry_at:
                    await self._retry()
            elif now >= self._next_flush:
                self._next_flush = now + self.conf.flush_interval_seconds
                try:
                    await asyncio.to_thread(self.writer.flush_due)
                except Exception as exc:
                    self._failed(exc)
            await self._ack_ready()

    async def drain(self, revoked_generation: int | None) -> None:
        """At a revocation (the generation revoked) or at shutdown (None)."""
        async with self._lock:
            if self._backlog or self._seen or any(self._pending.values()):
                await self._drain()
            if revoked_generation is not None:
                self._revoked_generation = max(self._revoked_generation, revoked_generation)

    async def _drain(self) -> None:
        """Partitions are being revoked (or the worker stops): make durable what can be,
        acknowledge it, release the rest, and forget what is known about them."""
        if self._failure is not None:
            await self._retry()
        if self._failure is None:
            await self._take_backlog()
        try:
            await asyncio.to_thread(self.writer.flush)  # whatever else can be made durable
        except Exception as exc:
            self._failed(exc)
        await self._ack_ready()
        stuck = {partition for partition, queue in self._pending.items() if queue}
        stuck |= {event.message.partition for event in self._backlog}
        if stuck:
            self._release_partitions(stuck)
        self.writer.discard(self._seen)  # the next owner may write more meanwhile
        self._seen.clear()
        self._failure = None  # what failed is given back; a new owner starts afresh
        self._resumed.set()

    def _release_partitions(self, partitions: set[int]) -> None:
        dropped = self.writer.discard(partitions)
        self.discarded_rows += dropped
        events = [entry.event for p in partitions for entry in self._pending.pop(p, ())]
        events += self._backlog
        self._backlog.clear()
        for event in events:
            message = event.message
            generation = message.generation_id or 0
            self._released[message.partition] = max(
                generation, self._released.get(message.partition, 0)
            )
            self._release(event)
        log.warning(
            "%s sink: could not flush before partitions %s were revoked (%s): %d buffered "
            "rows discarded, %d events left unacknowledged; they will be consumed again",
            self.data_type,
            sorted(partitions),
            self.last_error,
            dropped,
            len(events),
        )

    def _is_released(self, partition: int, generation: int | None) -> bool:
        if generation is not None and generation <= self._revoked_generation:
            return True
        released = self._released.get(partition)
        if released is None:
            return False
        if (generation or 0) > released:  # assigned again since: consume normally
            del self._released[partition]
            return False
        return True

    def _release(self, event: Event) -> None:
        """Never acknowledge ``event``; stop Faust from waiting for it."""
        self.app.consumer.unacked.discard(event.message)

    @property
    def failing(self) -> bool:
        return self._failure is not None

    def status(self) -> SinkStatus:
        failure = self._failure
        return SinkStatus(
            data_type=self.data_type,
            topic=self.topic,
            rows_written=self.writer.rows_written,
            rows_skipped=self.writer.rows_skipped,
            files_written=self.writer.files_written,
            buffered_rows=self.writer.buffered_rows,
            unacked_events=sum(len(q) for q in self._pending.values()) + len(self._backlog),
            dead_lettered=self.dead_lettered,
            discarded_rows=self.discarded_rows,
            last_durable_at=self.last_durable_at,
            waiting_seconds=time.monotonic() - self._progress_at if self._waiting() else 0.0,
            failing=failure is not None,
            failing_since=None if failure is None else failure.since_utc,
            failure_episodes=self.failure_episodes,
            last_error=self.last_error,
            last_error_at=self.last_error_at,
        )


class SinkAgents:
    """Every sink of a worker and the task that flushes them; the health page reads it."""

    def __init__(
        self, app: faust.App, sinks: dict[str, ParquetSinkAgent], job: Job | None = None
    ) -> None:
        self.app = app
        self.sinks = sinks
        self.job = job

    def status(self) -> dict[str, SinkStatus]:
        return {data_type: sink.status() for data_type, sink in self.sinks.items()}

    @property
    def failing(self) -> bool:
        return any(sink.failing for sink in self.sinks.values())

    async def on_partitions_revoked(self, sender: Any, *args: Any, **kwargs: Any) -> None:
        """Faust awaits this before the worker rejoins the group (every partition is revoked)."""
        await self._drain_and_commit(self.app.consumer_generation_id)

    async def on_before_shutdown(self, sender: Any, *args: Any, **kwargs: Any) -> None:
        """Faust awaits this at shutdown, while the consumer still runs."""
        await self._drain_and_commit(None)

    async def _drain_and_commit(self, revoked_generation: int | None) -> None:
        for sink in self.sinks.values():
            await sink.drain(revoked_generation)
        consumer = self.app.consumer
        for _ in range(2):  # the first call may only wait for a commit already under way
            await consumer.commit()

    async def run(self) -> None:
        """The background task: age flushes, retries, and draining at a suspended flow."""
        while True:
            await asyncio.sleep(POLL_SECONDS)
            draining = bool(self.app.should_stop) or not self.app.flow_control.is_active()
            now = time.monotonic()
            try:
                async with self._round():
                    for sink in self.sinks.values():
                        await sink.tick(now, draining)
            except Exception as exc:  # a bug: stop the worker rather than stop acknowledging
                log.exception("parquet sinks: background task failed")
                await self.app.crash(exc)
                raise

    def _round(self) -> AbstractAsyncContextManager[object]:
        return nullcontext() if self.job is None else self.job.run()


def install_sinks(
    app: faust.App,
    topics: Topics,
    settings: Settings,
    *,
    metrics: WorkerMetrics | None = None,
    scheduler: Scheduler | None = None,
    dead_lettered_elsewhere: frozenset[str] = frozenset(),
) -> SinkAgents:
    """Add one Parquet sink agent per ``settings.sinks.data_types`` and their flush task
    (a periodic job of ``scheduler``), counted in ``metrics``. The sinks of the data
    types in ``dead_lettered_elsewhere`` skip bad records instead of dead-lettering
    them (another agent of the worker does)."""
    conf = settings.sinks
    sinks: dict[str, ParquetSinkAgent] = {}
    if conf.enabled:
        policy = RollPolicy.of(settings.parquet)
        channels = topics.by_data_type()
        for data_type in conf.data_types:
            writer = ParquetWriter(settings.parquet.root, SPECS[data_type], policy)
            sink = ParquetSinkAgent(
                app,
                data_type,
                topic_name(settings.topics, data_type),
                writer,
                topics.dead_letters,
                conf,
                None if metrics is None else SinkMeter(metrics, data_type),
                dead_letter_bad=data_type not in dead_lettered_elsewhere,
            )
            sinks[data_type] = sink

            async def consume(stream: Any, sink: ParquetSinkAgent = sink) -> None:
                await sink.consume(stream)

            app.agent(channels[data_type], name=f"parquet_sink.{data_type}")(consume)
    job = None
    if sinks and scheduler is not None:
        job = scheduler.add(
            "parquet_sinks.flush",
            Every(POLL_SECONDS, immediate=False),
            description="writes buffers past their age, retries failed writes, drains at a "
            "rebalance; each sink flushes every MARKETPRISM_SINKS__FLUSH_INTERVAL_SECONDS",
        )
    agents = SinkAgents(app, sinks, job)
    if sinks:
        app.task(agents.run)
        # mode types a receiver with mypy_extensions arguments no async method matches.
        app.on_partitions_revoked.connect(agents.on_partitions_revoked)  # type: ignore[arg-type]
        app.on_before_shutdown.connect(agents.on_before_shutdown)  # type: ignore[arg-type]
        log.info("parquet sinks for %s under %s", ", ".join(sinks), settings.parquet.root)
    return agents
