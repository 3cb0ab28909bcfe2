"""Fault injection: one method per failure a real venue shows, also reachable over HTTP.

From Python (tests)::

    sim.faults.drop_connections()
    sim.faults.stall(5.0)

From a shell, ``POST /__sim/fault?fault=<method>&<argument>=<value>`` on the
simulator's port (``sim.control_url``; arguments as query parameters: the
WebSocket library serving the port reads no request bodies), e.g.
``curl -X POST 'http://127.0.0.1:PORT/__sim/fault?fault=stall&seconds=5'``.
``GET /__sim/stats`` returns the counters; ``POST /__sim/market?action=pause``
(or ``resume``) pauses the market.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Collection, Mapping
from typing import Any, Protocol

from ingest.simulator.events import MarketSource
from ingest.simulator.protocols.base import BadTrade, Frame, VenueProtocol
from ingest.simulator.rest import RestAnswer, json_answer
from ingest.simulator.session import Session
from ingest.simulator.stats import SimStats
from models.exceptions import ConfigError


def _flag(value: str) -> bool:
    return value.lower() in ("1", "true", "yes")


def _seconds_or_none(value: str) -> float | None:
    return None if value.lower() in ("", "none", "off") else float(value)


#: Fault method -> its arguments and how to read them from a query string.
CONTROLS: dict[str, dict[str, Callable[[str], Any]]] = {
    "drop_connections": {},
    "sequence_gap": {"symbol": str},
    "duplicate": {"count": int},
    "stall": {"seconds": float, "deaf": _flag},
    "malformed": {"count": int},
    "bad_messages": {"problem": str, "count": int},
    "checksum_error": {"symbol": str},
    "rest_errors": {"status": int, "count": int, "retry_after": int},
    "rest_outage": {"seconds": float, "status": int, "path": str},
    "max_connection_age": {"seconds": _seconds_or_none},
    "refuse_connections": {"seconds": float},
    "error_flood": {"count": int},
}


class FaultTarget(Protocol):
    protocol: VenueProtocol
    market: MarketSource
    stats: SimStats
    max_connection_age: float | None

    @property
    def sessions(self) -> Collection[Session]: ...


class Faults:
    """The faults of one simulated exchange. Methods return how many connections they hit."""

    def __init__(self, target: FaultTarget) -> None:
        self._target = target
        self._gaps: list[str | None] = []
        self._checksums: list[str | None] = []
        self._rest: deque[tuple[int, int]] = deque()
        self._outage: tuple[float, int, str] = (0.0, 0, "")  #: (until, status, path)
        self._refuse_until = 0.0

    # -- WebSocket faults -------------------------------------------------------------

    def drop_connections(self) -> int:
        """Drop every connection abruptly (TCP abort, no close frame); the market goes on."""
        sessions = list(self._target.sessions)
        for session in sessions:
            session.abort()
        return len(sessions)

    def sequence_gap(self, symbol: str | None = None) -> None:
        """Skip the next book update of ``symbol`` (canonical; None: of any symbol)."""
        self._gaps.append(symbol)

    def checksum_error(self, symbol: str | None = None) -> None:
        """Send the next OKX book update of ``symbol`` with a wrong checksum."""
        if self._target.protocol.name != "okx":
            raise ConfigError(f"{self._target.protocol.name} sends no book checksums")
        self._checksums.append(symbol)

    def duplicate(self, count: int = 1) -> int:
        """Send each connection's last ``count`` messages again."""
        return self._each(lambda session: session.resend(count))

    def stall(self, seconds: float, *, deaf: bool = False) -> int:
        """Keep connections open but send nothing for ``seconds`` (what is due is sent
        after); ``deaf``: read nothing either, so the client's pings go unanswered."""
        return self._each(lambda session: session.stall(seconds, deaf=deaf))

    def malformed(self, count: int = 1) -> int:
        """Send ``count`` frames of broken JSON (a message cut in half)."""

        def send(session: Session) -> None:
            last = session.last_sent() or b'{"malformed":true}'
            text = last if isinstance(last, str) else last.decode("utf-8", "replace")
            for _ in range(count):
                session.send(text[: max(len(text) // 2, 1)], "malformed")

        return self._each(send)

    def bad_messages(self, problem: BadTrade = "missing_field", count: int = 1) -> int:
        """Send ``count`` trade messages with the price missing (``missing_field``) or
        zero (``non_positive_price``) to every connection subscribed to trades."""
        if problem not in ("missing_field", "non_positive_price"):
            raise ConfigError(f"no bad message kind {problem!r}")
        hit = 0
        for session in list(self._target.sessions):
            message = self._target.protocol.bad_trade(session, problem)
            if message is not None:
                hit += 1
                for _ in range(count):
                    session.send(message, "bad")
        return hit

    def error_flood(self, count: int = 100) -> int:
        """Send ``count`` venue error messages to every connection."""
        protocol = self._target.protocol

        def send(session: Session) -> None:
            for _ in range(count):
                session.send(protocol.error_frame(session), "error")

        return self._each(send)

    def max_connection_age(self, seconds: float | None) -> int:
        """Close connections older than ``seconds`` (Binance's 24 h), now and later."""
        self._target.max_connection_age = seconds
        return self._each(Session.changed)

    def refuse_connections(self, seconds: float) -> None:
        """Reject new WebSocket handshakes with HTTP 503 for ``seconds``."""
        self._refuse_until = asyncio.get_running_loop().time() + seconds

    # -- REST faults ------------------------------------------------------------------

    def rest_errors(self, status: int = 429, count: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``count`` REST requests with ``status`` (429, 418, 5xx) in the
        venue's error format, with ``Retry-After``."""
        self._rest.extend([(status, retry_after)] * count)

    def rest_outage(self, seconds: float, status: int = 503, path: str = "") -> None:
        """Answer every REST request whose path ends with ``path`` (empty: every one) with
        ``status`` for ``seconds``: an endpoint that stays down, e.g. ``status=400`` for a
        symbol the venue no longer knows. ``seconds=0`` ends the outage."""
        until = asyncio.get_running_loop().time() + seconds if seconds > 0 else 0.0
        self._outage = (until, status, path)

    # -- hooks the server calls -------------------------------------------------------

    def refusing(self) -> bool:
        return asyncio.get_running_loop().time() < self._refuse_until

    def take_rest_error(self, path: str = "") -> tuple[int, int] | None:
        """The error the REST request to ``path`` gets, as ``(status, retry_after)``."""
        if self._rest:
            return self._rest.popleft()
        until, status, failing = self._outage
        if path.endswith(failing) and asyncio.get_running_loop().time() < until:
            return status, 0
        return None

    def filter(self, frame: Frame) -> Frame | None:
        """A published frame after the armed book faults: dropped, corrupted or as is."""
        if not frame.delta or not (self._gaps or self._checksums):
            return frame
        if _take(self._gaps, frame.symbol):
            return None
        if _take(self._checksums, frame.symbol):
            return self._target.protocol.corrupt_checksum(frame)
        return frame

    def control(self, method: str, path: str, query: Mapping[str, str]) -> RestAnswer:
        """The ``/__sim/...`` endpoints."""
        if path == "/__sim/stats":
            return json_answer(self._target.stats.as_dict())
        if method != "POST":
            return json_answer({"error": f"{path} needs POST"}, 405)
        if path == "/__sim/market":
            action = query.get("action")
            if action not in ("pause", "resume"):
                return json_answer({"error": "action must be pause or resume"}, 400)
            getattr(self._target.market, action)()
            return json_answer({"market": action})
        if path != "/__sim/fault":
            return json_answer({"error": f"no control endpoint {path}"}, 404)
        return self._apply(query)

    def _apply(self, query: Mapping[str, str]) -> RestAnswer:
        name = query.get("fault", "")
        arguments = CONTROLS.get(name)
        if arguments is None:
            return json_answer({"error": f"fault must be one of {sorted(CONTROLS)}"}, 400)
        unknown = set(query) - set(arguments) - {"fault"}
        if unknown:
            return json_answer({"error": f"{name} takes no {sorted(unknown)}"}, 400)
        try:
            kwargs = {key: arguments[key](value) for key, value in query.items() if key != "fault"}
            result = getattr(self, name)(**kwargs)
        except (ValueError, TypeError, ConfigError) as exc:
            return json_answer({"error": str(exc)}, 400)
        return json_answer({"fault": name, "arguments": kwargs, "result": result})

    def _each(self, action: Callable[[Session], None]) -> int:
        sessions = list(self._target.sessions)
        for session in sessions:
            action(session)
        return len(sessions)


def _take(armed: list[str | None], symbol: str | None) -> bool:
    for index, wanted in enumerate(armed):
        if wanted is None or wanted == symbol:
            del armed[index]
            return True
    return False
