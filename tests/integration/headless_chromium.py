"""Headless Chromium driven over the DevTools protocol, for browser tests.

Debian's ``chromium`` package (``make browser`` installs it), no WebDriver: the
browser is started with ``--remote-debugging-port=0`` and writes the port it
chose into its profile directory; a synchronous ``websockets`` client sends
protocol commands to one page. The browser runs in a process group of its own
and :meth:`Chromium.close` kills that group, then any process still naming
the test's temporary profile (the crash handler leaves the group), so no
renderer, GPU or crash helper outlives a test.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from websockets.sync.client import ClientConnection, connect

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")

#: Without the background-networking switches Chromium hangs on refused connections.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
)


def find_chromium() -> str | None:
    """The Chromium executable (``MARKETPRISM_TEST_CHROMIUM`` first), or ``None``."""
    chosen = os.environ.get("MARKETPRISM_TEST_CHROMIUM")
    for path in (chosen, *CANDIDATES):
        if path and os.access(path, os.X_OK):
            return path
    return shutil.which("chromium")


class BrowserError(RuntimeError):
    """The browser did not start, or a protocol command failed."""


class Chromium:
    """One headless browser with one page; use as a context manager."""

    def __init__(
        self, executable: str, *, width: int = 1280, height: int = 900, timeout: float = 30
    ) -> None:
        self.executable = executable
        self.width, self.height = width, height
        self.timeout = timeout
        self.profile = Path(tempfile.mkdtemp(prefix="marketprism-chromium-"))
        self.log = self.profile / "chromium.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.socket: ClientConnection | None = None
        self._connection = contextlib.ExitStack()
        self.session = ""
        self._ids = itertools.count(1)

    def __enter__(self) -> Chromium:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        args = [
            self.executable,
            *FLAGS,
            f"--user-data-dir={self.profile / 'profile'}",
            f"--window-size={self.width},{self.height}",
            "about:blank",
        ]
        # HOME too: the crash handler's database and any config stay in the profile
        env = {**os.environ, "HOME": str(self.profile)}
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        endpoint = self._endpoint()
        self.socket = self._connection.enter_context(
            connect(endpoint, max_size=None, proxy=None, open_timeout=self.timeout)
        )
        target = self.command("Target.createTarget", url="about:blank")["targetId"]
        attached = self.command("Target.attachToTarget", targetId=target, flatten=True)
        self.session = attached["sessionId"]
        self.command(
            "Emulation.setDeviceMetricsOverride",
            width=self.width,
            height=self.height,
            deviceScaleFactor=1,
            mobile=False,
        )

    def _endpoint(self) -> str:
        """The browser's DevTools WebSocket, from the port file it writes once listening."""
        port_file = self.profile / "profile" / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise BrowserError(f"chromium exited: {self.log.read_text(errors='replace')}")
            lines = port_file.read_text().split() if port_file.exists() else []
            if len(lines) >= 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            time.sleep(0.05)
        raise BrowserError(f"no DevTools port after {self.timeout:.0f} s")

    def command(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one protocol command (to the page once attached) and return its result."""
        if self.socket is None:
            raise BrowserError("the browser is not running")
        number = next(self._ids)
        message: dict[str, Any] = {"id": number, "method": method, "params": params}
        if self.session:
            message["sessionId"] = self.session
        self.socket.send(json.dumps(message))
        deadline = time.monotonic() + self.timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrowserError(f"{method}: no answer after {self.timeout:.0f} s")
            reply = json.loads(self.socket.recv(timeout=remaining))
            if reply.get("id") != number:
                continue  # an event
            if "error" in reply:
                raise BrowserError(f"{method}: {reply['error']}")
            result: dict[str, Any] = reply["result"]
            return result

    def open(self, url: str) -> None:
        result = self.command("Page.navigate", url=url)
        if result.get("errorText"):
            raise BrowserError(f"cannot open {url}: {result['errorText']}")

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page."""
        result = self.command("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression!r} raised: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, *, within: float, what: str) -> Any:
        """Evaluate ``expression`` until its value is truthy and return it."""
        deadline = time.monotonic() + within
        value = None
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise TimeoutError(f"waited {within:.0f} s for {what}; last value {value!r}")

    def screenshot(self, path: Path) -> Path:
        """A PNG of the whole page (beyond the viewport when it is longer)."""
        data = self.command("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data["data"]))
        return path

    def close(self) -> None:
        """Close the browser and kill its process group; remove the profile."""
        if self.socket is not None:
            self.session = ""
            # A browser that cannot take the command dies with its group below anyway.
            with contextlib.suppress(Exception):
                self.socket.send(json.dumps({"id": next(self._ids), "method": "Browser.close"}))
            self._connection.close()
            self.socket = None
        process = self.process
        if process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            self.process = None
        for pid in self._leftovers():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.profile, ignore_errors=True)

    def _leftovers(self) -> list[int]:
        """Processes outside the group that still name this browser's profile."""
        marker = str(self.profile).encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:  # gone meanwhile, or not ours to read
                continue
            if marker in cmdline:
                found.append(int(entry.name))
        return found
