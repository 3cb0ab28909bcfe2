"""`marketprism worker` and `faust -A app.main worker` run against the real broker."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from tests.conftest import PROJECT_ROOT, Broker, free_port

pytestmark = pytest.mark.integration

FAUST = Path(sys.executable).parent / "faust"


async def list_topics(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


def web_answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.mark.parametrize(
    ("command", "json_logs"),
    [
        ([sys.executable, "-m", "app.cli", "worker"], True),
        ([str(FAUST), "-A", "app.main", "worker"], False),
    ],
    ids=["marketprism-worker-json-logs", "faust-A-app.main"],
)
def test_worker_starts_creates_topics_serves_web_and_stops(
    command: list[str], json_logs: bool, kafka_broker: Broker, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:10]
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "MARKETPRISM_APP_ID": f"test-worker-{run}",
        "MARKETPRISM_KAFKA__BROKER": kafka_broker.url,
        "MARKETPRISM_TOPICS__PREFIX": f"test-{run}.",
        "MARKETPRISM_STORE__DATA_DIR": str(tmp_path / "worker"),
        "MARKETPRISM_WEB__PORT": str(port),
        "MARKETPRISM_LOG__JSON_FORMAT": str(json_logs).lower(),
        "BROKER_URL": "kafka://127.0.0.1:1",  # Faust must not pick this up
    }
    log = tmp_path / "worker.log"
    errors = tmp_path / "worker.err"
    with log.open("w") as out, errors.open("w") as err:
        worker = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=err)
    try:
        deadline = time.monotonic() + 90
        wanted = {f"test-{run}.trades", f"test-{run}.alerts", f"test-{run}.deadletter"}
        while time.monotonic() < deadline:
            assert worker.poll() is None, log.read_text() + errors.read_text()
            if web_answers(port) and wanted <= asyncio.run(list_topics(kafka_broker.bootstrap)):
                break
            time.sleep(0.5)
        else:
            pytest.fail("worker did not come up:\n" + log.read_text()[-3000:])
        assert (tmp_path / "worker").is_dir()
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            code = worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            raise
    assert code == 0, log.read_text()[-3000:] + errors.read_text()[-3000:]
    if json_logs:
        lines = [line for line in errors.read_text().splitlines() if line.strip()]
        assert lines, "the worker logged nothing"
        entries = [json.loads(line) for line in lines]
        assert {"ts", "level", "logger", "message"} <= set(entries[0])
