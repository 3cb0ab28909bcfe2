"""bench/ingest.py runs our side on a few recorded lines and prints its JSON report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.shared_data import PROJECT_ROOT, shared_data_dir

BENCH = PROJECT_ROOT / "bench" / "ingest.py"


def run_bench(*args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, str(BENCH), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=PROJECT_ROOT,
    )
    report = json.loads(done.stdout)
    assert isinstance(report, dict)
    return report


def test_ours_only_reports_every_kind_of_every_venue() -> None:
    shared_data_dir()
    report = run_bench("--ours-only", "--limit", "20", "--rounds", "2")

    assert report["bench"] == "ingest"
    assert report["baseline_skipped"] == "--ours-only"
    results = report["results"]
    assert isinstance(results, dict)
    assert set(results) == {"binance", "binance_futures"}
    for kinds in results.values():
        assert set(kinds) == {"trades", "bookTicker", "depth"}
        for kind, entry in kinds.items():
            assert entry["messages"] == 20
            sides = {"marketprism", "marketprism_with_book"} if kind == "depth" else {"marketprism"}
            assert {key for key in entry if key != "messages"} == sides
            for side in sides:
                assert entry[side]["msgs_per_s"] > 0
                assert entry[side]["us_per_msg"] > 0
                assert entry[side]["bytes_per_msg"] > 0
                assert "ratio" not in entry[side]


def test_a_file_without_snapshot_measures_depth_without_a_book() -> None:
    shared_data_dir()
    report = run_bench("--ours-only", "--files", "spot_btcusdt_20240809.gz", "--limit", "5")

    results = report["results"]
    assert isinstance(results, dict)
    assert set(results["binance"]["depth"]) == {"messages", "marketprism"}
    assert report["book_skipped"]


def test_missing_data_is_a_skip_not_a_failure(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "MARKETPRISM_SHARED_DATA": str(tmp_path)},
    )
    assert "skipped" in json.loads(done.stdout)
