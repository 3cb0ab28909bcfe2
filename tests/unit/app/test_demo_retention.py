"""The demo keeps the newest run archives and deletes the older ones, on real directories."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import _parser
from app.demo.retention import prune_run_archives, run_archives

RUNS = ["20250101-090000", "20250102-090000", "20241231-235959", "20250102-100000"]


def archive(root: Path, run: str, files: int = 2) -> Path:
    path = root / f"parquet-{run}"
    for n in range(files):
        part = path / "trades" / "exchange=binance" / f"part-{n}.parquet"
        part.parent.mkdir(parents=True, exist_ok=True)
        part.write_bytes(b"x" * 1000)
    return path


def test_the_newest_runs_stay_and_the_older_ones_go(tmp_path: Path) -> None:
    for run in RUNS:
        archive(tmp_path, run)
    others = [tmp_path / "parquet", tmp_path / "worker-20250101-090000", tmp_path / "ingest.log"]
    others[0].mkdir()
    others[1].mkdir()
    others[2].write_text("log")
    assert [p.name for p in run_archives(tmp_path)] == [
        "parquet-20241231-235959",
        "parquet-20250101-090000",
        "parquet-20250102-090000",
        "parquet-20250102-100000",
    ]

    removed = prune_run_archives(tmp_path, keep=2)
    assert [(r.path.name, r.files, r.bytes) for r in removed] == [
        ("parquet-20241231-235959", 2, 2000),
        ("parquet-20250101-090000", 2, 2000),
    ]
    assert removed[0].describe() == f"{tmp_path}/parquet-20241231-235959 (2 files, 0.0 MB)"
    assert [p.name for p in run_archives(tmp_path)] == [
        "parquet-20250102-090000",
        "parquet-20250102-100000",
    ]
    assert all(path.exists() for path in others), "only run archives are touched"

    assert prune_run_archives(tmp_path, keep=2) == []
    assert [r.path.name for r in prune_run_archives(tmp_path, keep=0)] == [
        "parquet-20250102-090000",
        "parquet-20250102-100000",
    ]
    assert prune_run_archives(tmp_path / "never-ran", keep=0) == []


def test_keep_runs_counts_this_run_and_must_be_at_least_one() -> None:
    assert _parser().parse_args(["demo"]).keep_runs == 3
    args = _parser().parse_args(["demo", "--keep-runs", "1", "--drain-timeout", "90"])
    assert (args.keep_runs, args.drain_timeout) == (1, 90.0)
    assert _parser().parse_args(["demo"]).drain_timeout is None
    with pytest.raises(SystemExit):
        _parser().parse_args(["demo", "--keep-runs", "0"])
