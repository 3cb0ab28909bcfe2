"""Workers as real subprocesses (`python -m app.cli worker`), for integration tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.conftest import PROJECT_ROOT, free_port


class WorkerProcess:
    """One worker; :meth:`kill` (SIGKILL) and :meth:`start` again to simulate a crash."""

    def __init__(self, env: Mapping[str, str], log_dir: Path, name: str = "worker") -> None:
        self.port = free_port()
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", str(log_dir)),
            **env,
            "MARKETPRISM_WEB__ENABLED": "true",
            "MARKETPRISM_WEB__PORT": str(self.port),
        }
        self.log_dir = log_dir
        self.name = name
        self.process: subprocess.Popen[bytes] | None = None
        self.started: list[subprocess.Popen[bytes]] = []  #: every process, for teardown

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = self.log_dir / f"{self.name}-{len(self.started) + 1}.log"
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "worker"],
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.started.append(self.process)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def logs(self, tail: int = 4000) -> str:
        paths = sorted(self.log_dir.glob(f"{self.name}-*.log"), key=lambda p: p.stat().st_mtime)
        text = "".join(path.read_text(errors="replace") for path in paths)
        return text[-tail:]

    def get(self, path: str) -> tuple[int, Any]:
        """GET a JSON page: ``(status, body)``; ``(0, None)`` when nothing answers."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as response:  # noqa: S310
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            try:
                return exc.code, json.loads(exc.read())
            except ValueError:
                return exc.code, None
        except (OSError, ValueError):
            return 0, None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, no commit."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self, timeout: float = 90) -> int | None:
        """SIGTERM (a clean shutdown) and wait, SIGKILL after ``timeout``; the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        return self.process.returncode
