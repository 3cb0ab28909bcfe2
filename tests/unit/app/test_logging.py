from __future__ import annotations

import json
import logging
import logging.config

import pytest
from faust.cli.base import LOGLEVELS

from app.cli import faust_loglevel
from app.logging_setup import JsonFormatter, logging_config
from app.settings import LogSettings


def test_text_mode_leaves_faust_console_logging_alone() -> None:
    assert logging_config(LogSettings()) is None


def test_json_lines_carry_level_logger_message_and_extra() -> None:
    record = logging.LogRecord(
        "ingest.binance",
        logging.WARNING,
        __file__,
        1,
        "reconnect %s after %.1fs",
        ("binance", 2.5),
        None,
    )
    record.exchange = "binance"
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "WARNING" and line["logger"] == "ingest.binance"
    assert line["message"] == "reconnect binance after 2.5s"
    assert line["exchange"] == "binance" and line["ts"].endswith("+00:00")


def test_json_config_is_a_valid_dict_config(capsys: pytest.CaptureFixture[str]) -> None:
    config = logging_config(LogSettings(json_format=True, level="INFO"))
    assert config is not None
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logging.config.dictConfig(config)
        logging.getLogger("demo").info("hello %d", 1)
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert json.loads(err)["message"] == "hello 1"
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])


@pytest.mark.parametrize("level", ["DEBUG", "INFO", "WARNING", "ERROR"])
def test_every_log_level_setting_is_one_faust_accepts(level: str) -> None:
    assert faust_loglevel(level).upper() in LOGLEVELS
