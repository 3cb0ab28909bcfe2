"""The README's configuration reference matches the settings tree."""

from __future__ import annotations

import re
from pathlib import Path

from app.settings import Settings, env_reference

README = Path(__file__).resolve().parents[3] / "README.md"


def test_readme_lists_every_setting_and_no_other() -> None:
    documented = set(re.findall(r"`(MARKETPRISM_[A-Z0-9_<>]+)`", README.read_text()))
    documented -= {"MARKETPRISM_TEST_KAFKA_PORT", "MARKETPRISM_SHARED_DATA"}
    actual = set()
    for name, _value in env_reference(Settings()):
        name = name.removeprefix("# ")
        actual.add(
            re.sub(r"^MARKETPRISM_EXCHANGES__[A-Z_]+?__", "MARKETPRISM_EXCHANGES__<NAME>__", name)
        )
    assert documented == actual
