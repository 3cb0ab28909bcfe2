"""The periodic maintenance run of the Parquet tree (``marketprism compact``).

In this order: expire hours past the retention period (no use compacting
them), remove stale temporary files, then compact every closed hour. Safe to
run while workers write and readers query (see :mod:`sinks.retention` and
:mod:`sinks.compaction`), and to run again after a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sinks.compaction import compact
from sinks.retention import expire_hours, remove_stale_temp_files


@dataclass(frozen=True)
class MaintenanceReport:
    """What one run did. ``files_removed`` counts files merged away (files in minus
    the one compacted file each hour now has)."""

    hours_compacted: int
    files_in: int
    files_removed: int
    rows_before: int
    rows_after: int
    temp_files_cleaned: int
    hours_expired: int


def maintain(
    root: Path,
    now: datetime,
    grace: timedelta = timedelta(minutes=30),
    retention: timedelta | None = None,
    temp_max_age: timedelta = timedelta(hours=1),
) -> MaintenanceReport:
    """Expire (when ``retention`` is set), clean temporary files, compact closed hours."""
    expired = [] if retention is None else expire_hours(root, now, retention)
    cleaned = remove_stale_temp_files(root, now, temp_max_age)
    results = compact(root, now, grace)
    files_in = sum(result.files_in for result in results)
    return MaintenanceReport(
        hours_compacted=len(results),
        files_in=files_in,
        files_removed=files_in - len(results),
        rows_before=sum(result.rows_in for result in results),
        rows_after=sum(result.rows_out for result in results),
        temp_files_cleaned=len(cleaned),
        hours_expired=len(expired),
    )
