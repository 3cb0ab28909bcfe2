"""Stopping a helper task without swallowing our own cancellation.

The usual ``task.cancel(); with suppress(CancelledError): await task`` has a
hole: if the *awaiting* task is itself cancelled while it waits, that
cancellation is suppressed too, and a loop meant to stop runs on forever
(a feed that keeps reconnecting after SIGTERM). :func:`cancel_and_wait`
waits with :func:`asyncio.wait`, which never raises the child's outcome, so
only our own cancellation propagates.
"""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel_and_wait(task: asyncio.Future[Any]) -> None:
    """Cancel ``task`` and wait until it is done; raise only if we are cancelled."""
    task.cancel()
    await asyncio.wait([task])
