"""The Parquet archives of past demo runs: the newest few stay, older ones go.

Each run archives under ``<log dir>/parquet-<run>/`` (:mod:`app.demo.namespace`),
and the archives would pile up run after run. At the start of a run,
:func:`prune_run_archives` keeps the newest ``keep - 1`` of them, so that with
the new run's there are ``keep``. Run names are UTC times
(``20250101-120000``), so their order is the order of the names; a directory
not named like a run archive is never touched.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

RUN_ARCHIVE = re.compile(r"parquet-\d{8}-\d{6}")


@dataclass(frozen=True)
class RemovedArchive:
    path: Path
    files: int
    bytes: int

    def describe(self) -> str:
        return f"{self.path} ({self.files} files, {self.bytes / 1e6:.1f} MB)"


def run_archives(state_root: Path) -> list[Path]:
    """The run archives under ``state_root``, oldest first."""
    if not state_root.is_dir():
        return []
    found = [
        path
        for path in state_root.iterdir()
        if path.is_dir() and not path.is_symlink() and RUN_ARCHIVE.fullmatch(path.name)
    ]
    return sorted(found, key=lambda path: path.name)


def prune_run_archives(state_root: Path, keep: int) -> list[RemovedArchive]:
    """Delete every run archive under ``state_root`` but the newest ``keep``; what went."""
    if keep < 0:
        raise ValueError(f"keep must be 0 or more, not {keep}")
    archives = run_archives(state_root)
    doomed = archives[: max(len(archives) - keep, 0)]
    removed = []
    for path in doomed:
        files = [item for item in path.rglob("*") if item.is_file()]
        size = sum(item.stat().st_size for item in files)
        shutil.rmtree(path)
        removed.append(RemovedArchive(path, len(files), size))
    return removed
