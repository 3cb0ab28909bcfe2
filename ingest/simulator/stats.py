"""Counters of one simulated exchange, for tests and the ``/__sim/stats`` endpoint."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SimStats:
    connections_opened: int = 0
    connections_closed: int = 0
    #: WebSocket handshakes refused with 503 (the ``refuse_connections`` fault).
    connections_refused: int = 0
    #: Messages sent, by our channel name; replies and venue control messages are
    #: ``control``, injected ones ``malformed``, ``bad`` and ``error``.
    messages_sent: Counter[str] = field(default_factory=Counter)
    #: REST requests by (path, HTTP status).
    rest_requests: Counter[tuple[str, int]] = field(default_factory=Counter)

    @property
    def connections_open(self) -> int:
        return self.connections_opened - self.connections_closed

    def as_dict(self) -> dict[str, Any]:
        return {
            "connections_opened": self.connections_opened,
            "connections_closed": self.connections_closed,
            "connections_refused": self.connections_refused,
            "messages_sent": dict(self.messages_sent),
            "rest_requests": [
                {"path": path, "status": status, "count": count}
                for (path, status), count in sorted(self.rest_requests.items())
            ],
        }
