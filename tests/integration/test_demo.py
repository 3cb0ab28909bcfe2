"""`marketprism demo` runs to its summary against the test broker and exits 0."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, Broker, free_port

pytestmark = pytest.mark.integration


def test_demo_runs_to_its_summary(kafka_broker: Broker, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:10]
    env = {
        **os.environ,
        "MARKETPRISM_APP_ID": f"test-demo-{run}",
        "MARKETPRISM_KAFKA__BROKER": kafka_broker.url,
        "MARKETPRISM_TOPICS__PREFIX": f"test-{run}.",
        "MARKETPRISM_STORE__DATA_DIR": str(tmp_path / "fresh" / "var" / "worker"),
        "MARKETPRISM_WEB__PORT": str(free_port()),
    }
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "demo", "--duration", "1"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "1000/1000 trades went through Kafka" in result.stdout
    assert "not there yet" in result.stdout
