"""REST plumbing of the simulated venues: requests, answers, routes and rate limits.

Each venue protocol maps paths to :class:`Route` (a handler and its weight);
the server admits the request against the venue's :class:`RateLimiter`
first, exactly like the exchange's gateway: Binance counts weight per
minute and bans (HTTP 418) a client that keeps sending after a 429 before
its ``Retry-After`` has passed; OKX and Deribit only answer 429.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from models.exceptions import MarketPrismError


class RequestError(MarketPrismError):
    """A bad REST request; the venue renders it in its own error format."""

    def __init__(
        self,
        reason: str,
        *,
        param: str | None = None,
        status: int = 400,
        code: int | str | None = None,
        missing: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.param = param
        self.status = status
        #: The venue's own error code, where the protocol knows it.
        self.code = code
        #: A mandatory parameter was not sent.
        self.missing = missing


@dataclass(frozen=True, slots=True)
class RestRequest:
    method: str
    #: The path below the venue's REST base (Deribit's ``/api/v2`` removed).
    path: str
    query: Mapping[str, str]

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.query.get(name)
        if value in (None, "") and required:
            raise RequestError(f"mandatory parameter {name!r} is missing", param=name, missing=True)
        return value or None

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.query.get(name)
        if value in (None, ""):
            return default
        try:
            return int(value)
        except ValueError:
            raise RequestError(f"parameter {name!r} is not an integer", param=name) from None


@dataclass(slots=True)
class RestAnswer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def json_answer(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> RestAnswer:
    return RestAnswer(status, orjson.dumps(payload), dict(headers or {}))


Handler = Callable[[RestRequest], RestAnswer]


@dataclass(frozen=True, slots=True)
class Route:
    handler: Handler
    #: Request weight (Binance) or cost; a function of the request where it varies.
    weight: int | Callable[[RestRequest], int] = 1
    #: Rate-limit bucket (OKX limits each endpoint on its own); None: the venue-wide one.
    bucket: str | None = None

    def cost(self, request: RestRequest) -> int:
        return self.weight if isinstance(self.weight, int) else self.weight(request)


@dataclass(frozen=True, slots=True)
class Verdict:
    """200 (admitted), 429 (over the limit) or 418 (banned), with the weight used."""

    status: int
    used: int
    retry_after: int = 0


class RateLimiter:
    """``limit`` weight per fixed ``window`` (aligned to the epoch, like Binance's minutes).

    With ``ban_seconds`` set, a request arriving after a 429 but before its
    ``Retry-After`` is answered 418 and bans the client for that long.
    """

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        ban_seconds: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limit = limit
        self.window = window
        self.ban_seconds = ban_seconds
        self._clock = clock
        self._used: dict[str | None, tuple[float, int]] = {}
        self._retry_at = 0.0
        self._banned_until = 0.0

    def used(self, bucket: str | None = None) -> int:
        start, used = self._used.get(bucket, (0.0, 0))
        return used if start == self._window_start(self._clock()) else 0

    def admit(self, weight: int, bucket: str | None = None) -> Verdict:
        now = self._clock()
        if now < self._banned_until:
            return Verdict(418, self.used(bucket), math.ceil(self._banned_until - now))
        start = self._window_start(now)
        seen, used = self._used.get(bucket, (start, 0))
        if seen != start:
            used = 0
        if self.ban_seconds is not None and now < self._retry_at:
            self._banned_until = now + self.ban_seconds
            return Verdict(418, used, math.ceil(self.ban_seconds))
        if used + weight > self.limit:
            self._retry_at = start + self.window
            return Verdict(429, used, max(math.ceil(self._retry_at - now), 1))
        self._used[bucket] = (start, used + weight)
        return Verdict(200, used + weight)

    def _window_start(self, now: float) -> float:
        return math.floor(now / self.window) * self.window
