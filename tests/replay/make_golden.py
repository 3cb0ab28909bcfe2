"""Rewrite the replay golden files: ``.venv/bin/python -m tests.replay.make_golden``."""

from __future__ import annotations

from tests.replay.normalize import GOLDEN_DIR, RECORDINGS, golden_path, normalized_lines
from tests.shared_data import SHARED_DATA


def main() -> None:
    GOLDEN_DIR.mkdir(exist_ok=True)
    for recording, limit in RECORDINGS:
        target = golden_path(recording)
        lines = list(normalized_lines(SHARED_DATA / recording, limit))
        target.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        print(f"{target.relative_to(GOLDEN_DIR.parent)}: {len(lines)} records")


if __name__ == "__main__":
    main()
