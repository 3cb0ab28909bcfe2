"""The archive's maintenance as a Faust crontab: what ``marketprism compact`` does,
on ``MARKETPRISM_SINKS__COMPACTION_CRON`` (UTC), on the group's leader only.

Each run expires hours past ``MARKETPRISM_PARQUET__RETENTION_DAYS`` (when set),
removes temporary files of crashed writers and compacts every hour that ended
``MARKETPRISM_SINKS__COMPACTION_GRACE_SECONDS`` ago (:func:`sinks.maintenance.maintain`,
safe while the sinks write and readers query). It runs on a thread of its own,
off the event loop, so the agents never wait for it; a run that fails is logged
and shown on ``/scheduler``, and the next one tries again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import faust

from app.scheduler import Cron, Job, Scheduler
from app.settings import Settings
from models.exceptions import ConfigError
from sinks.maintenance import MaintenanceReport, maintain

log = logging.getLogger(__name__)

JOB_NAME = "parquet.compaction"


def utc_now() -> datetime:
    return datetime.now(UTC)


class ArchiveMaintenance:
    """One maintenance run per :meth:`run` call, recorded in ``job``."""

    def __init__(
        self,
        root: Path,
        job: Job,
        *,
        grace: timedelta,
        retention: timedelta | None,
        executor: Executor | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.root = root
        self.job = job
        self.grace = grace
        self.retention = retention
        # One thread: runs never overlap, and never take the loop's default pool.
        self._executor = executor or ThreadPoolExecutor(1, thread_name_prefix="compaction")
        self._clock = clock

    async def run(self) -> MaintenanceReport | None:
        """The crontab's body: maintain the archive off the event loop; None if it failed."""
        loop = asyncio.get_running_loop()
        try:
            async with self.job.run() as current:
                report = await loop.run_in_executor(self._executor, self.maintain)
                current.result = dataclasses.asdict(report)
        except Exception:
            log.exception("archive maintenance of %s failed; the next run tries again", self.root)
            return None
        log.info("archive maintenance of %s: %s", self.root, current.result)
        return report

    def maintain(self) -> MaintenanceReport:
        """One run, synchronously (what ``marketprism compact`` runs)."""
        return maintain(self.root, self._clock(), grace=self.grace, retention=self.retention)


def install_compaction(
    app: faust.App, settings: Settings, scheduler: Scheduler
) -> ArchiveMaintenance | None:
    """Add the maintenance crontab to ``app`` (nothing when compaction is disabled)."""
    conf = settings.sinks
    if not conf.compaction_enabled:
        return None
    cron = Cron(conf.compaction_cron)
    try:
        cron.next_run(None)
    except Exception as exc:  # croniter's errors: ValueError, KeyError, ...
        raise ConfigError(
            f"MARKETPRISM_SINKS__COMPACTION_CRON: {conf.compaction_cron!r} is not a crontab "
            f"expression ({exc})"
        ) from exc
    days = settings.parquet.retention_days
    job = scheduler.add(
        JOB_NAME,
        cron,
        description="expire old hours, remove stale temporary files, compact closed hours",
        leader_only=True,
    )
    maintenance = ArchiveMaintenance(
        settings.parquet.root,
        job,
        grace=timedelta(seconds=conf.compaction_grace_seconds),
        retention=None if days is None else timedelta(days=days),
    )
    app.crontab(conf.compaction_cron, timezone=UTC, on_leader=True)(maintenance.run)
    return maintenance
