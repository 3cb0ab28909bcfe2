"""bench/query.py on a tiny archive: its JSON report, and the archive it leaves in --dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sinks.layout import COMPACTED_NAME, data_files, hour_dirs
from sinks.query import PriceStore
from sinks.schemas import SPECS
from tests.shared_data import PROJECT_ROOT

BENCH = PROJECT_ROOT / "bench" / "query.py"
ARGS = ("--trades", "3000", "--markets", "2", "--days", "1", "--repeats", "1", "--workers", "1")


def run_bench(cwd: Path, *args: str) -> dict[str, Any]:
    done = subprocess.run(  # from another directory: the script must find the packages itself
        [sys.executable, str(BENCH), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        cwd=cwd,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    report = json.loads(done.stdout)
    assert isinstance(report, dict)
    return report


def test_a_tiny_run_reports_writes_and_both_query_paths(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    report = run_bench(tmp_path, *ARGS, "--dir", str(archive))

    assert report["bench"] == "query"
    assert report["archive"]["trades"] == 3000 and report["archive"]["days"] == 1
    write = report["write"]
    assert write["rows"] == 3000 and write["workers"] == 1 and write["rows_per_s"] > 0
    assert write["roll"] == {"rows": 200_000, "bytes": 64 * 1024 * 1024, "seconds": 60.0}
    small, compacted = report["small_files"], report["compacted"]
    # 3000 trades over 2 markets x 24 hours = 62 each, the 24 left over go to the first.
    assert small["count_symbol_hour"]["pruned"]["rows"] == 63
    assert small["ohlcv_1m_symbol_day"]["pruned"]["rows"] == 24 * 63
    for phase, total in ((small, report["archive"]["files"]), (compacted, 48)):
        assert phase["files_total"] == total
        for name in ("count_symbol_hour", "ohlcv_1m_symbol_day"):
            entry = phase[name]
            assert entry["same_result"] is True
            assert entry["pruned"]["rows"] == entry["unpruned"]["rows"]
            assert entry["unpruned"]["files_read"] == total
            assert 0 < entry["pruned"]["files_read"] < total
            assert entry["pruned"]["seconds"] > 0 and entry["unpruned"]["rows_per_s"] > 0
    assert compacted["count_symbol_hour"]["pruned"]["files_read"] == 1
    assert compacted["ohlcv_1m_symbol_day"]["pruned"]["files_read"] == 24
    compaction = report["compaction"]
    assert compaction["hours"] == 48 and compaction["rows_in"] == compaction["rows_out"] == 3000

    # The kept archive is the sink's tree, compacted, with every trade in it.
    directories = hour_dirs(archive, SPECS["trades"])
    assert len(directories) == 48
    assert all([p.name for p in data_files(d)] == [COMPACTED_NAME] for d in directories)
    with PriceStore(archive) as store:
        assert store.sql("SELECT count(*) AS n FROM trades").n[0] == 3000


def test_a_non_empty_dir_is_refused(tmp_path: Path) -> None:
    (tmp_path / "something").write_text("x")
    done = subprocess.run(
        [sys.executable, str(BENCH), *ARGS, "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2 and "not empty" in done.stderr


def test_the_bench_names_no_machine_path() -> None:
    assert "/work" not in BENCH.read_text()
