"""Access to the recorded exchange data beside the project (``../shared/data``).

A clone elsewhere has no ``../shared``; tests that need it skip with a reason.
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(
    os.environ.get("MARKETPRISM_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data")
)


def shared_data_dir() -> Path:
    """The shared data directory, or skip the calling test with the reason."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"recorded exchange data not found at {SHARED_DATA} "
            "(set MARKETPRISM_SHARED_DATA to a copy of shared/data to run this test)"
        )
    return SHARED_DATA


def data_files() -> list[Path]:
    """Every recording: cryptofeed sessions and hftbacktest gzip files."""
    root = shared_data_dir()
    files = sorted(p for p in (root / "recorded").iterdir() if p.name.isupper() or "." in p.name)
    files = [p for p in files if not p.name.startswith(("README", "LICENSE"))]
    files += sorted((root / "binance-hft").glob("*.gz"))
    return files


def read_text(path: Path) -> Iterator[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        yield from handle


# Quoted decimals ("61837.63000000", "1") and bare JSON floats (57420.5, 1e-05).
_QUOTED = re.compile(r'"(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"')
_BARE_FLOAT = re.compile(r"(?<=[:\[,])\s*(-?\d+(?:\.\d+(?:[eE][-+]?\d+)?|[eE][-+]?\d+))(?=[,\]}])")


def numeric_literals() -> tuple[set[str], set[str]]:
    """Every numeric literal in the recordings: (quoted strings, bare JSON floats)."""
    quoted: set[str] = set()
    bare: set[str] = set()
    for path in data_files():
        for line in read_text(path):
            quoted.update(_QUOTED.findall(line))
            bare.update(m.strip() for m in _BARE_FLOAT.findall(line))
    return quoted, bare
