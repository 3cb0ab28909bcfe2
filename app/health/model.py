"""Readiness as a list of named checks, and the JSON documents of the health pages.

A check is ``ok`` or carries the ``reason`` it is not, in words an operator
can act on ("binance#1 book: no data for 16.2 s (stale after 15 s)"), plus a
small ``detail`` object. The process is ready when every check is ok.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

Document = dict[str, Any]


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    reason: str | None = None  #: why not (None when ok)
    detail: Document = field(default_factory=dict)

    @classmethod
    def passed(cls, name: str, **detail: Any) -> Check:
        return cls(name, True, None, detail)

    @classmethod
    def failed(cls, name: str, reason: str, **detail: Any) -> Check:
        return cls(name, False, reason, detail)

    def document(self) -> Document:
        out: Document = {"name": self.name, "ok": self.ok}
        if self.reason is not None:
            out["reason"] = self.reason
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass(frozen=True)
class Readiness:
    checks: tuple[Check, ...]

    @classmethod
    def of(cls, checks: Iterable[Check]) -> Readiness:
        return cls(tuple(checks))

    @property
    def ready(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def reasons(self) -> list[str]:
        return [check.reason or check.name for check in self.checks if not check.ok]

    @property
    def http_status(self) -> int:
        """200 when ready, else 503 (what load balancers and Kubernetes probes expect)."""
        return 200 if self.ready else 503

    def document(self) -> Document:
        out: Document = {"ready": self.ready}
        if not self.ready:
            out["reasons"] = self.reasons
        out["checks"] = [check.document() for check in self.checks]
        return out


class Liveness:
    """``/health``: the process serves; its uptime."""

    def __init__(self, process: str) -> None:
        self.process = process
        self.started_at = datetime.now(UTC)
        self._started = time.monotonic()

    def document(self) -> Document:
        return {
            "status": "alive",
            "process": self.process,
            "pid": os.getpid(),
            "started_at": self.started_at,
            "uptime_seconds": round(time.monotonic() - self._started, 3),
        }


def to_json(document: Document) -> bytes:
    """JSON of a health document (datetimes as ISO 8601, dataclasses as objects)."""
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)


def seconds(value: float | None) -> float | None:
    """A duration as shown: milliseconds precision."""
    return None if value is None else round(value, 3)
