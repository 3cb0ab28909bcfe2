"""The demo's children: a run's log holds that run's output only."""

from __future__ import annotations

import os
from pathlib import Path

from app.demo.processes import Child


def test_a_child_log_starts_empty_so_an_earlier_run_cannot_mislead(tmp_path: Path) -> None:
    log = tmp_path / "simulator.log"
    log.write_text("MARKETPRISM_EXCHANGES__BINANCE__WS_URL=ws://127.0.0.1:1/stream\n")
    child = Child("config", ["config", "--env"], dict(os.environ), log)
    assert child.process.wait(timeout=60) == 0
    child.stop()
    text = child.read_log()
    assert "ws://127.0.0.1:1/stream" not in text
    assert "MARKETPRISM_APP_ID=" in text
