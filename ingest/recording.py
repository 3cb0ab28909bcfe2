"""Readers for recorded exchange sessions, gzipped or not.

Two formats exist (see shared/data/*/README.md):

- **cryptofeed** session files (``NAME.ws.N.0``, ``NAME.http.0.0``, ``NAME.0``)::

      wss://ws.okx.com:8443/ws/v5/public <-> 1652459224.5300605      (connection opened)
      wss://ws.okx.com:8443/ws/v5/public <- 1652459225.29: {"op":...}  (we sent)
      1652459225.5037491: {"event":"subscribe",...}                   (we received)
      https://api.binance.com/api/v3/depth?... -> 1633998512.32: {...} (REST answer)
      configuration: {...}                                            (skipped)

- **hftbacktest** files: ``<receive time, ns> <raw JSON>`` per line; combined-stream
  messages plus one bare REST depth snapshot.

Every reader yields :class:`RecordedMessage` in file order.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import Literal, NamedTuple

from models.numbers import utc_from_ns

Direction = Literal["opened", "sent", "received", "rest"]

_HFT_LINE = re.compile(r"^\d{16,20} ")
_GZIP_MAGIC = b"\x1f\x8b"
_ARROWS: dict[str, Direction] = {"<->": "opened", "<-": "sent", "->": "rest"}


class RecordedMessage(NamedTuple):
    received_at: datetime
    #: The WebSocket/REST URL (cryptofeed) or the combined-stream name (hftbacktest);
    #: empty for hftbacktest's bare REST snapshot.
    source: str
    #: The raw message exactly as recorded (empty for ``opened``).
    text: str
    direction: Direction


def utc_from_seconds_text(text: str) -> datetime:
    """``"1633998512.0633569"`` -> aware UTC datetime, truncated to the microsecond."""
    seconds, _, fraction = text.partition(".")
    micros = int((fraction + "000000")[:6])
    return datetime.fromtimestamp(int(seconds), UTC).replace(microsecond=micros)


def read_cryptofeed(lines: Iterable[str]) -> Iterator[RecordedMessage]:
    """Messages of a cryptofeed session file; a received line belongs to the last URL opened."""
    url = ""
    for line in lines:
        line = line.rstrip("\r\n")
        if not line or line.startswith("configuration: "):
            continue
        if line[0].isdigit():
            stamp, _, text = line.partition(": ")
            yield RecordedMessage(utc_from_seconds_text(stamp), url, text, "received")
            continue
        where, arrow, rest = line.split(" ", 2)
        direction = _ARROWS[arrow]
        stamp, _, text = rest.partition(": ")
        if direction == "opened":
            url = where
        yield RecordedMessage(utc_from_seconds_text(stamp), where, text, direction)


def read_hftbacktest(lines: Iterable[str]) -> Iterator[RecordedMessage]:
    """Messages of an hftbacktest file: stream messages, and the bare REST snapshot."""
    for line in lines:
        stamp, _, text = line.rstrip("\r\n").partition(" ")
        if not text:
            continue
        if text.startswith('{"stream":"'):
            stream = text[11 : text.index('"', 11)]
            yield RecordedMessage(utc_from_ns(stamp), stream, text, "received")
        else:
            yield RecordedMessage(utc_from_ns(stamp), "", text, "rest")


def read_lines(path: Path) -> Iterator[str]:
    """Text lines of ``path``, gunzipped when it is gzip (by content, not by name)."""
    with path.open("rb") as probe:
        packed = probe.read(2) == _GZIP_MAGIC
    if packed:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            yield from handle
    else:
        with path.open(encoding="utf-8") as handle:
            yield from handle


def read_recording(path: Path) -> Iterator[RecordedMessage]:
    """Every message of a recording in either format, detected from its first line."""
    lines = read_lines(path)
    first = next(lines, None)
    if first is None:
        return
    reader = read_hftbacktest if _HFT_LINE.match(first) else read_cryptofeed
    yield from reader(chain([first], lines))
