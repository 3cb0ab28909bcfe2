"""`marketprism kafka start|stop|status` on its own ports: idempotent, leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import KAFKA_SCRIPT, PROJECT_ROOT, free_port, port_open

pytestmark = pytest.mark.integration


def kafka_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "kafka", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def broker_processes(data_dir: Path) -> list[str]:
    ps = subprocess.run(
        ["ps", "-ww", "-eo", "pid,args"], capture_output=True, text=True, check=True
    )
    return [
        line for line in ps.stdout.splitlines() if "kafka.Kafka" in line and str(data_dir) in line
    ]


def test_start_twice_then_stop_leaves_no_process_and_no_lock(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "broker"
    opts = ["--port", str(port), "--controller-port", str(free_port()), "--data-dir", str(data_dir)]
    first = kafka_cli("start", *opts)
    assert first.returncode == 0, first.stdout + first.stderr
    try:
        assert port_open(port)
        second = kafka_cli("start", *opts)
        assert second.returncode == 0 and "already running" in second.stdout + second.stderr
        assert len(broker_processes(data_dir)) == 1
        status = kafka_cli("status", *opts)
        assert status.returncode == 0 and f"127.0.0.1:{port}" in status.stdout
    finally:
        stop = kafka_cli("stop", *opts)
    assert stop.returncode == 0, stop.stdout + stop.stderr
    assert broker_processes(data_dir) == []
    assert not port_open(port)
    leftovers = [p for p in data_dir.rglob("*") if p.name in {"kafka.pid", ".lock"}]
    assert leftovers == []
    assert kafka_cli("status", *opts).returncode == 1
    assert kafka_cli("stop", *opts).returncode == 0  # stopping a stopped broker is fine


def test_stale_pid_file_is_detected(tmp_path: Path) -> None:
    data_dir = tmp_path / "broker"
    data_dir.mkdir()
    (data_dir / "kafka.pid").write_text("999999\n")
    opts = [
        "--port",
        str(free_port()),
        "--controller-port",
        str(free_port()),
        "--data-dir",
        str(data_dir),
    ]
    status = kafka_cli("status", *opts)
    assert status.returncode == 1 and "stale" in (status.stdout + status.stderr).lower()


def test_missing_java_is_a_clear_error(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for directory in ("/usr/local/bin", "/usr/bin", "/bin"):
        for tool in Path(directory).iterdir():
            target = bin_dir / tool.name
            if tool.name not in {"java", "mvn"} and not target.exists():
                target.symlink_to(tool)
    result = subprocess.run(
        [str(KAFKA_SCRIPT), "start", "--port", str(free_port()), "--data-dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
    )
    assert result.returncode != 0
    assert "java" in result.stderr.lower() and "install" in result.stderr.lower()
