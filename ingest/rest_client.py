"""A polite REST client for one venue: a weight budget, and back-off on 418/429.

Exchanges ban clients that ignore their limits (Binance answers 429 with a
``Retry-After``, then 418 and an IP ban to those who keep going). Every
request of a venue goes through one :class:`RestClient`, so the budget and a
``Retry-After`` hold for all of its callers at once: the book snapshots, the
trade backfills and the pollers queue behind each other instead of racing.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import aiohttp

from models.exceptions import MarketPrismError

logger = logging.getLogger(__name__)

#: When a 429/418 answer carries no ``Retry-After``.
DEFAULT_RETRY_AFTER = {429: 10.0, 418: 120.0}
#: Binance's used-weight header; above this share of the budget we wait for the next minute.
_USED_WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"
_USED_WEIGHT_PAUSE_SHARE = 0.9


class RestError(MarketPrismError):
    """A REST request that failed for good (a client error, or retries exhausted)."""

    def __init__(self, url: str, status: int | None, detail: str) -> None:
        self.url, self.status, self.detail = url, status, detail
        super().__init__(f"GET {url}: {status or 'no answer'} {detail}".strip())


@dataclass
class RestStats:
    requests: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    transport_errors: int = 0
    throttled: int = 0
    throttled_seconds: float = 0.0


class WeightBudget:
    """At most ``per_minute`` weight in any rolling 60 s (a token bucket refilled
    continuously); :meth:`acquire` waits until the weight fits."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be positive")
        self.per_minute = per_minute
        self._clock = clock
        self._tokens = float(per_minute)
        self._stamp = clock()
        self._lock = asyncio.Lock()

    async def acquire(self, weight: int) -> None:
        weight = min(weight, self.per_minute)
        async with self._lock:  # first come, first served
            while True:
                now = self._clock()
                rate = self.per_minute / 60.0
                self._tokens = min(self.per_minute, self._tokens + (now - self._stamp) * rate)
                self._stamp = now
                if self._tokens >= weight:
                    self._tokens -= weight
                    return
                await asyncio.sleep((weight - self._tokens) / rate)

    def drain(self) -> None:
        """The server says the budget is spent: start again from empty."""
        self._tokens, self._stamp = 0.0, self._clock()


class RestClient:
    """GET requests against one venue's REST base URL.

    Transport errors and 5xx answers are retried with capped exponential
    back-off and jitter; 429/418 pause *every* request of this client until
    the ``Retry-After`` has passed; other 4xx answers raise at once.
    """

    def __init__(
        self,
        base_url: str,
        *,
        weight_per_minute: int | None = None,
        timeout: float = 10.0,
        max_attempts: int = 6,
        max_backoff: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.budget = None if weight_per_minute is None else WeightBudget(weight_per_minute, clock)
        self.stats = RestStats()
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_attempts = max_attempts
        self._max_backoff = max_backoff
        self._clock = clock
        self._paused_until = 0.0
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get(self, path: str, params: Mapping[str, str], *, weight: int = 1) -> bytes:
        """The body of a 200 answer to ``GET base_url + path?params``."""
        url = self.base_url + path
        for attempt in range(self._max_attempts):
            await self._wait_pause()
            if self.budget is not None:
                await self.budget.acquire(weight)
            self.stats.requests += 1
            try:
                status, headers, body = await self._fetch(url, params)
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                self.stats.transport_errors += 1
                logger.warning("GET %s failed (%s); retrying", url, exc)
                await asyncio.sleep(self._backoff(attempt))
                continue
            self.stats.by_status[status] += 1
            if status == 200:
                self._note_used_weight(headers)
                return body
            if status in (418, 429):
                self._pause(status, headers, url)
                continue
            if status >= 500:
                await asyncio.sleep(self._backoff(attempt))
                continue
            raise RestError(url, status, body[:300].decode("utf-8", "replace"))
        raise RestError(url, None, f"gave up after {self._max_attempts} attempts")

    async def _fetch(
        self, url: str, params: Mapping[str, str]
    ) -> tuple[int, Mapping[str, str], bytes]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        async with self._session.get(url, params=dict(params)) as response:
            return response.status, response.headers, await response.read()

    def _backoff(self, attempt: int) -> float:
        return float(random.uniform(0.5, 1.0) * min(self._max_backoff, 0.25 * 2**attempt))  # noqa: S311

    def _pause(self, status: int, headers: Mapping[str, str], url: str) -> None:
        try:
            delay = float(headers.get("Retry-After", ""))
        except ValueError:
            delay = DEFAULT_RETRY_AFTER[status]
        self.stats.throttled += 1
        self.stats.throttled_seconds += delay
        self._paused_until = max(self._paused_until, self._clock() + delay)
        if self.budget is not None:
            self.budget.drain()
        logger.warning(
            "GET %s answered %s: pausing this venue's REST for %.1f s", url, status, delay
        )

    def _note_used_weight(self, headers: Mapping[str, str]) -> None:
        used = headers.get(_USED_WEIGHT_HEADER)
        if self.budget is None or used is None or not used.isdigit():
            return
        if int(used) >= self.budget.per_minute * _USED_WEIGHT_PAUSE_SHARE:
            self.budget.drain()

    async def _wait_pause(self) -> None:
        while True:  # a later 429 may extend the pause while we sleep
            left = self._paused_until - self._clock()
            if left <= 0:
                return
            await asyncio.sleep(left)
