"""Waiting on a condition in async tests, with a generous deadline (never sleep-and-assert)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(condition: Callable[[], bool], *, within: float = 60.0) -> None:
    """Return once ``condition()`` holds; ``TimeoutError`` after ``within`` seconds."""
    async with asyncio.timeout(within):
        while True:
            if condition():
                return
            await asyncio.sleep(0.02)


def wait_for(condition: Callable[[], T | None | bool], *, within: float, what: str) -> T:
    """Blocking: poll ``condition()`` until it returns a truthy value, and return it."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value  # type: ignore[return-value]
        time.sleep(0.1)
    raise TimeoutError(f"waited {within:.0f} s for {what}")
