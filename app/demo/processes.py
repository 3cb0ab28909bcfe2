"""The demo's child processes: the broker script, the simulator, ingest and a worker.

Each child is one of our own CLI commands, started with its own environment
and its output in a log file, so the terminal stays free for the progress
lines. Stopping is polite first (SIGTERM, which every command handles by
flushing what it holds), then firm (SIGKILL) after a deadline.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from models.exceptions import MarketPrismError

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class Child:
    """``marketprism <args>`` in a subprocess, its output in ``log`` (replaced)."""

    def __init__(self, name: str, args: Sequence[str], env: Mapping[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        self._out: IO[bytes] = log.open("wb")  # this run only: old lines would mislead
        self.process = subprocess.Popen(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "app.cli", *args],
            cwd=PROJECT_ROOT,
            env=dict(env),
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in the terminal reaches the demo only
        )

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def check_running(self) -> None:
        if not self.running:
            raise MarketPrismError(
                f"{self.name} exited with code {self.process.returncode}; see {self.log}"
            )

    def read_log(self) -> str:
        if not self._out.closed:
            self._out.flush()
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, wait up to ``timeout``, then SIGKILL; the exit code."""
        if self.running:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._out.close()
        return self.process.returncode


def wait_for_lines(child: Child, prefix: str, last: str, timeout: float) -> list[str]:
    """The log lines starting with ``prefix``, once a line starting with ``last`` appeared."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        child.check_running()
        lines = child.read_log().splitlines()
        if any(line.startswith(last) for line in lines):
            return [line for line in lines if line.startswith(prefix)]
        time.sleep(0.2)
    raise MarketPrismError(f"{child.name} did not start within {timeout:.0f}s; see {child.log}")


class LocalBroker:
    """The project's Kafka broker script, when no broker answers at ``host:port``."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.started = False

    def ensure(self) -> None:
        if port_open(self.host, self.port):
            print(f"demo: using the Kafka broker already on {self.host}:{self.port}")
            return
        if self.host not in {"127.0.0.1", "localhost"}:
            raise MarketPrismError(f"Kafka broker {self.host}:{self.port} does not answer")
        self._script("start")
        self.started = True

    def stop(self) -> None:
        if self.started:
            self._script("stop", check=False)
            self.started = False

    def _script(self, action: str, *, check: bool = True) -> None:
        script = PROJECT_ROOT / "scripts" / "kafka"
        subprocess.run(  # noqa: S603 - our own script
            [str(script), action, "--port", str(self.port)], check=check, env=os.environ.copy()
        )
