"""The windows and the detector run with no broker: the backtest imports them alone."""

from __future__ import annotations

import subprocess
import sys

CODE = (
    "import sys, tables.pipeline, agents.detection.engine, agents.detection.config\n"
    "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'faust', 'mode', 'aiokafka'})\n"
    "assert not bad, bad\n"
)


def test_windows_and_detection_import_no_faust() -> None:
    subprocess.run([sys.executable, "-c", CODE], check=True, timeout=60)
