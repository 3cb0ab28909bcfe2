"""The per-hour manifest ``_manifest.json`` written by compaction.

It says what the hour holds once compacted: row count, time range,
first/last sequence and trade id, the Kafka offset range per partition, which
files it was built from, and its ``state``:

* ``swapping``: the compacted file is written (under a temporary name) and the
  small files are being removed; a crash here is finished by the next run.
* ``complete``: ``compacted.parquet`` holds the whole hour as of ``compacted_at``.

Files added after that (late rows) make the hour incomplete again until the
next compaction: ``is_complete`` checks for them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sinks.layout import COMPACTED_NAME, MANIFEST_NAME, data_files, parse_file_name


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The manifest of an hour directory, or None when it was never compacted."""
    path = directory / MANIFEST_NAME
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def is_complete(directory: Path) -> bool:
    """True when the hour is compacted and no file arrived since."""
    manifest = read_manifest(directory)
    if manifest is None or manifest.get("state") != "complete":
        return False
    return [path.name for path in data_files(directory)] == [COMPACTED_NAME]


def last_durable_offsets(directory: Path) -> dict[int, int]:
    """Kafka partition -> highest offset whose row is stored in ``directory``.

    From the data file names and, for compacted rows whose small files are
    gone, from the manifest.
    """
    last: dict[int, int] = {}
    manifest = read_manifest(directory)
    if manifest is not None:
        for partition, (_, high) in manifest.get("offsets", {}).items():
            last[int(partition)] = max(last.get(int(partition), -1), int(high))
    for path in data_files(directory):
        parsed = parse_file_name(path.name)
        if parsed is not None:
            partition, _, high = parsed
            last[partition] = max(last.get(partition, -1), high)
    return last
