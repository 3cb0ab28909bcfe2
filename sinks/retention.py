"""Housekeeping of the Parquet tree: expire old hours, remove stale temporary files.

**Retention.** An hour directory expires when its whole hour (by its
``date=``/``hour=`` partition, not by file times) ended more than the retention
period ago. It is first renamed, in one atomic step, into ``<root>/.expired/``,
outside every data type's tree, and only then deleted. A reader that lists
the files therefore sees the hour whole or not at all; a query that listed
them just before the rename fails to open them (an I/O error, never a partial
answer). A crash between the rename and the deletion leaves the directory
under ``.expired/``, which the next run deletes. Directories left empty above
an expired hour (``date=``, ``symbol=``, ``exchange=``) are removed.

**Stale temporary files.** Every durable write goes through a hidden
temporary name (``.<final name>.<32 hex>.tmp``, see
:func:`sinks.durable_file.temp_path`); a writer that crashed mid-write leaves
one behind. Such files older than a maximum age (far longer than any write
takes) are removed, except the one a compaction manifest in state
``swapping`` still needs to finish its swap (:mod:`sinks.compaction`).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from sinks.durable_file import fsync_dir, make_dirs
from sinks.layout import hour_dirs, hour_start
from sinks.manifest import read_manifest
from sinks.schemas import SPECS

logger = logging.getLogger(__name__)

EXPIRED_DIR = ".expired"
_HOUR = timedelta(hours=1)
_TEMP_NAME = re.compile(r"^\..+\.[0-9a-f]{32}\.tmp$")


def expire_hours(
    root: Path, now: datetime, retention: timedelta, data_types: list[str] | None = None
) -> list[Path]:
    """Delete every hour directory whose hour ended before ``now - retention``.

    Returns the directories removed (their former paths).
    """
    if retention <= timedelta(0):
        raise ValueError(f"retention must be positive, got {retention}")
    cutoff = now - retention
    purge_expired(root)
    expired: list[Path] = []
    for data_type in data_types or list(SPECS):
        spec = SPECS[data_type]
        for directory in hour_dirs(root, spec):
            if hour_start(directory) + _HOUR > cutoff:
                continue
            retire_hour(root, directory)
            _remove_empty_parents(directory.parent, root / spec.directory)
            expired.append(directory)
    purge_expired(root)
    if expired:
        logger.info("expired %d hour directories older than %s", len(expired), cutoff)
    return expired


def purge_expired(root: Path) -> int:
    """Delete what earlier runs moved to ``<root>/.expired/``; returns the entries removed."""
    trash = root / EXPIRED_DIR
    if not trash.is_dir():
        return 0
    entries = list(trash.iterdir())
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink(missing_ok=True)
    return len(entries)


def retire_hour(root: Path, directory: Path) -> Path:
    """Move one hour directory out of the readers' sight in a single rename.

    Returns its new path under ``<root>/.expired/``, for :func:`purge_expired`.
    """
    trash = root / EXPIRED_DIR
    make_dirs(trash)
    target = trash / uuid.uuid4().hex
    os.rename(directory, target)
    fsync_dir(directory.parent)
    fsync_dir(trash)
    return target


def _remove_empty_parents(directory: Path, stop: Path) -> None:
    """``rmdir`` ``directory`` and its parents below ``stop`` while they are empty."""
    while directory != stop and stop in directory.parents:
        try:
            directory.rmdir()
        except OSError:  # not empty (or a writer just added something): keep it
            return
        directory = directory.parent


def remove_stale_temp_files(root: Path, now: datetime, max_age: timedelta) -> list[Path]:
    """Remove hidden ``.*.tmp`` files under ``root`` last modified before ``now - max_age``.

    A temporary file named by a ``swapping`` compaction manifest is kept: the
    next compaction of that hour still needs it.
    """
    cutoff = (now - max_age).timestamp()
    removed: list[Path] = []
    for current, subdirs, names in os.walk(root):
        directory = Path(current)
        if directory == root and EXPIRED_DIR in subdirs:
            subdirs.remove(EXPIRED_DIR)  # deleted whole by expire_hours
        temps = [name for name in names if _TEMP_NAME.match(name)]
        if not temps:
            continue
        keep = _needed_by_compaction(directory)
        for name in temps:
            path = directory / name
            try:
                modified = path.stat().st_mtime
            except FileNotFoundError:  # renamed into place meanwhile
                continue
            if name in keep or modified > cutoff:
                continue
            path.unlink(missing_ok=True)
            removed.append(path)
    if removed:
        logger.info("removed %d stale temporary files under %s", len(removed), root)
    return removed


def _needed_by_compaction(directory: Path) -> set[str]:
    manifest = read_manifest(directory)
    if manifest is None or manifest.get("state") != "swapping":
        return set()
    return {str(manifest.get("temp"))}
