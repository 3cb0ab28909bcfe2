"""What ``marketprism worker`` reports on ``/ready`` and ``/status``.

Ready means:

- **recovery**: the worker has its partitions and its tables are restored:
  Faust finished its first recovery (``app.tables.recovery.completed``) and is
  neither rebalancing nor restoring tables from their changelogs now;
- **sinks committing**: no sink's writes are failing, and no sink has events
  waiting longer than ``MARKETPRISM_SINKS__READY_COMMIT_SECONDS`` (unset:
  twice ``MARKETPRISM_PARQUET__ROLL_SECONDS`` plus 30 s) without its rows
  becoming durable and acknowledged for commit.

``/status`` adds the assignment, each partition's offsets and lag (from
Faust's monitor: end offset minus committed offset) and every sink's progress.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

import faust
from faust.types import TP

from app.health.model import Check, Document, Liveness, Readiness, seconds
from app.health.pages import health_pages, install_faust_pages
from app.metrics import WorkerMetrics
from app.scheduler import Scheduler
from app.settings import Settings


class SinkState(Protocol):
    """One sink's progress (``agents.sink_report.SinkStatus`` is one)."""

    @property
    def unacked_events(self) -> int: ...
    @property
    def waiting_seconds(self) -> float: ...
    @property
    def last_durable_at(self) -> datetime | None: ...
    @property
    def failing(self) -> bool: ...
    @property
    def failing_since(self) -> datetime | None: ...
    @property
    def last_error(self) -> str | None: ...


class SinkSource(Protocol):
    """The sink agents of the worker (``agents.storage.SinkAgents`` is one)."""

    def status(self) -> Mapping[str, SinkState]: ...


class WorkerHealth:
    def __init__(self, app: faust.App, sinks: SinkSource | None, commit_limit: float) -> None:
        self.app = app
        self.sinks = sinks
        self.commit_limit = commit_limit

    def readiness(self) -> Readiness:
        return Readiness.of([self.recovery_check(), *self.sink_checks()])

    def restoring(self) -> bool:
        """Restoring tables from their changelogs now."""
        return bool(self.app.in_recovery)

    def recovery_check(self) -> Check:
        app, name = self.app, "recovery"
        tables: Any = app.tables  # a TableManager; TableManagerT does not declare .recovery
        recovery = tables.recovery
        detail = {
            "rebalancing": bool(app.rebalancing),
            "restoring_tables": bool(app.in_recovery),
            "rebalances": app.rebalancing_count,
            "generation": app.consumer_generation_id,
        }
        if app.in_recovery:
            remaining = _remaining(recovery)
            left = "" if remaining is None else f": {remaining} changelog records to go"
            return Check.failed(name, f"restoring tables from their changelogs{left}", **detail)
        if app.rebalancing:
            return Check.failed(name, "rebalancing: partitions are being reassigned", **detail)
        if not recovery.completed.is_set():
            reason = "waiting for the consumer group to assign partitions and restore tables"
            return Check.failed(name, reason, **detail)
        return Check.passed(name, **detail)

    def sink_checks(self) -> list[Check]:
        if self.sinks is None:
            return []
        checks = []
        for data_type, sink in sorted(self.sinks.status().items()):
            name = f"{data_type} sink"
            detail = {
                "unacked_events": sink.unacked_events,
                "waiting_seconds": seconds(sink.waiting_seconds),
                "last_durable_at": sink.last_durable_at,
            }
            if sink.failing:
                reason = (
                    f"{name}: writes failing since {_iso(sink.failing_since)} ({sink.last_error});"
                    " rows kept, nothing acknowledged, retrying"
                )
                checks.append(Check.failed(name, reason, **detail))
            elif sink.unacked_events and sink.waiting_seconds > self.commit_limit:
                reason = (
                    f"{name}: {sink.unacked_events} events waiting {sink.waiting_seconds:.0f} s "
                    f"with no durable commit (limit {self.commit_limit:g} s)"
                )
                checks.append(Check.failed(name, reason, **detail))
            else:
                checks.append(Check.passed(name, **detail))
        return checks

    def about(self) -> Document:
        return {"app_id": self.app.conf.id, "leader": _is_leader(self.app)}

    def status(self) -> Document:
        app = self.app
        assignment = _assignment(app)
        topics: dict[str, list[int]] = {}
        for tp in sorted(assignment):
            topics.setdefault(tp.topic, []).append(tp.partition)
        return {
            "recovery": self.recovery_check().document(),
            "assignment": topics,
            "partitions": [_offsets(app, tp) for tp in sorted(assignment)],
            "sinks": {} if self.sinks is None else dict(self.sinks.status()),
        }


def commit_limit(settings: Settings) -> float:
    """How long a sink's events may wait for a durable commit before it is not ready."""
    given = settings.sinks.ready_commit_seconds
    return given if given is not None else 2 * settings.parquet.roll_seconds + 30.0


def install_worker_health(
    app: faust.App,
    settings: Settings,
    *,
    sinks: SinkSource | None,
    scheduler: Scheduler,
    metrics: WorkerMetrics | None = None,
) -> WorkerHealth:
    """Serve ``/health``, ``/ready``, ``/status`` and ``/scheduler`` on the worker's web
    server; ``marketprism_worker_recovering`` is 1 while tables are being restored."""
    health = WorkerHealth(app, sinks, commit_limit(settings))
    pages = health_pages(
        Liveness("worker"), health.readiness, health.status, scheduler, about=health.about
    )
    install_faust_pages(app, pages)
    if metrics is not None:
        metrics.recovering.set_function(lambda: float(health.restoring()))
    return health


def _assignment(app: faust.App) -> set[TP]:
    try:
        assigned: set[TP] = app.consumer.assignment()
    except Exception:  # the consumer has not started (or already stopped)
        return set()
    return assigned


def _offsets(app: faust.App, tp: TP) -> Document:
    monitor = app.monitor
    end = monitor.tp_end_offsets.get(tp)
    committed = monitor.tp_committed_offsets.get(tp)
    return {
        "topic": tp.topic,
        "partition": tp.partition,
        "end_offset": end,
        "read_offset": monitor.tp_read_offsets.get(tp),
        "committed_offset": committed,
        "lag": None if end is None or committed is None else max(end - committed, 0),
    }


def _remaining(recovery: Any) -> int | None:
    try:
        return int(recovery.active_remaining_total())
    except Exception:  # highwaters not fetched yet
        return None


def _is_leader(app: faust.App) -> bool:
    try:
        return bool(app.is_leader())
    except Exception:  # no assignment yet
        return False


def _iso(moment: datetime | None) -> str:
    return "?" if moment is None else moment.isoformat(timespec="seconds")
