"""Session fixtures: the real Kafka broker, started through scripts/kafka when none runs."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.settings import Settings, load_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
KAFKA_SCRIPT = PROJECT_ROOT / "scripts" / "kafka"


@dataclass(frozen=True)
class Broker:
    port: int

    @property
    def url(self) -> str:
        return f"kafka://127.0.0.1:{self.port}"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A real broker on MARKETPRISM_TEST_KAFKA_PORT (default 19092).

    Reused when one already listens there (e.g. ``scripts/kafka start --port
    19092`` kept running while developing); otherwise started with a fresh
    data dir and stopped at the end of the session.
    """
    port = int(os.environ.get("MARKETPRISM_TEST_KAFKA_PORT", "19092"))
    if port_open(port):
        yield Broker(port)
        return
    data_dir = tmp_path_factory.mktemp("kafka")
    args = ["--port", str(port), "--data-dir", str(data_dir)]
    subprocess.run([str(KAFKA_SCRIPT), "start", *args], check=True, timeout=600)
    try:
        yield Broker(port)
    finally:
        subprocess.run([str(KAFKA_SCRIPT), "stop", *args], check=True, timeout=120)


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(kafka_broker: Broker, tmp_path: Path) -> SettingsFactory:
    """Settings with a unique app id, topic prefix and data dir for this test."""

    def factory(**overrides: Any) -> Settings:
        run = uuid.uuid4().hex[:10]
        values: dict[str, Any] = {
            "app_id": f"test-{run}",
            "kafka": {"broker": kafka_broker.url},
            "topics": {"prefix": f"test-{run}.", "partitions": 2},
            "store": {"data_dir": tmp_path / f"worker-{run}"},
            "web": {"enabled": False},
            "parquet": {"root": tmp_path / f"parquet-{run}"},
        }
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(values.get(key), dict):
                values[key] = {**values[key], **value}
            else:
                values[key] = value
        return load_settings(**values)

    return factory
