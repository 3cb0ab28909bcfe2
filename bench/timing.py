"""Shared timing helper for the benchmarks (run them as ``python bench/NAME.py``)."""

from __future__ import annotations

import time
from collections.abc import Callable


def per_op_us(func: Callable[[], object], seconds: float = 1.0, batch: int = 100) -> float:
    """Mean microseconds per call of ``func``, calling it for about ``seconds``."""
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(batch):
            func()
        count += batch
    return (time.perf_counter() - start) / count * 1e6
