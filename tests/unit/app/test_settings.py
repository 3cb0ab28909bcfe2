from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.settings import load_settings
from models.exceptions import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[3]


def test_defaults_are_valid_and_local() -> None:
    settings = load_settings()
    assert settings.web.bind == "127.0.0.1"
    assert settings.kafka.bootstrap_servers == ["127.0.0.1:9092"]
    assert set(settings.exchanges) == {"binance", "binance_futures", "okx", "deribit"}


def test_nested_env_with_csv_and_merged_exchange_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARKETPRISM_EXCHANGES__OKX__SYMBOLS", "SOL-USDT, ETH-USDT-PERP")
    monkeypatch.setenv("MARKETPRISM_DEXCHANGE", "ignored-by-prefix")
    monkeypatch.setenv("MARKETPRISM_WINDOWS__TUMBLING_SECONDS", "[1, 10]")
    monkeypatch.setenv("MARKETPRISM_TOPICS__PARTITIONS", "12")
    settings = load_settings()
    assert settings.exchanges["okx"].symbols == ["SOL-USDT", "ETH-USDT-PERP"]
    assert "funding" in settings.exchanges["okx"].channels  # the rest of OKX kept its defaults
    assert settings.exchanges["binance"].symbols == ["BTC-USDT", "ETH-USDT"]
    assert settings.windows.tumbling_seconds == [1.0, 10.0]
    assert settings.topics.partitions == 12


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MARKETPRISM_KAFKA__BROKER", "localhost", "kafka://host:port"),
        ("MARKETPRISM_WEB__PORT", "70000", "less than or equal"),
        ("MARKETPRISM_EXCHANGES__BINANCE__SYMBOLS", "BTCUSDT", "canonical"),
        ("MARKETPRISM_WINDOWS__HOPPING_STEP_SECONDS", "7", "whole multiple"),
        ("MARKETPRISM_TOPICS__TRADES", "bad topic!", "valid Kafka topic"),
        ("MARKETPRISM_LOG__LEVEL", "LOUD", "DEBUG"),
    ],
)
def test_bad_value_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    text = str(info.value)
    assert name.split("__")[0] in text and message in text


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.web.port = 1  # type: ignore[misc]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
    )


def test_cli_config_prints_effective_config() -> None:
    result = run_cli("config", env={"MARKETPRISM_WEB__PORT": "7001"})
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert config["web"]["port"] == 7001
    assert config["topics"]["prefix"] == "marketprism."


def test_cli_exits_nonzero_naming_the_bad_setting() -> None:
    for command in ("config", "worker"):
        result = run_cli(command, env={"MARKETPRISM_WEB__PORT": "not-a-port"})
        assert result.returncode == 2
        assert "MARKETPRISM_WEB__PORT" in result.stderr
        assert "Traceback" not in result.stderr


def test_cli_schema_exports_every_public_topic(tmp_path: Path) -> None:
    result = run_cli("schema", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    files = sorted(p.name for p in tmp_path.iterdir())
    assert "marketprism.alerts.schema.json" in files and len(files) == 11
    alert = json.loads((tmp_path / "marketprism.alerts.schema.json").read_text())
    for field in (
        "symbol",
        "timestamp",
        "severity",
        "z_score",
        "price_change_pct",
        "confidence",
        "reasons",
    ):
        assert field in alert["properties"]
    assert alert["x-kafka-topic"] == "marketprism.alerts"


def test_importing_modules_reads_no_settings_and_starts_nothing() -> None:
    code = (
        "import threading, app.main, app.cli, app.topics, app.faust_app, app.codecs, "
        "app.schema_export, models\n"
        "assert threading.active_count() == 1, threading.enumerate()\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "MARKETPRISM_WEB__PORT": "invalid"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
