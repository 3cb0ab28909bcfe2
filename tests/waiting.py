"""Waiting on a condition in async tests, with a generous deadline (never sleep-and-assert)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def eventually(condition: Callable[[], bool], *, within: float = 60.0) -> None:
    """Return once ``condition()`` holds; ``TimeoutError`` after ``within`` seconds."""
    async with asyncio.timeout(within):
        while True:
            if condition():
                return
            await asyncio.sleep(0.02)
