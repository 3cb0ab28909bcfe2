"""How ingest's periodic tasks report their rounds, without knowing who listens.

A feed's REST polls, book publisher and trade backfill each get a
:class:`PeriodicJob` from a :class:`JobRegistry` and run every round inside
``job.run()``; the ``marketprism ingest`` process passes its
``app.scheduler.Scheduler`` (shown on ``/scheduler``, and its polls on
``/ready``), tools and tests :data:`UNTRACKED`. The layer below ``app/``
declares only the shape it needs.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any, Protocol


class Round(Protocol):
    """The round under way (``app.scheduler.Run`` is one)."""

    result: Any  #: a small JSON-able summary of what the round did


class PeriodicJob(Protocol):
    """Where a periodic task reports its rounds (``app.scheduler.Job`` is one)."""

    def run(self) -> AbstractAsyncContextManager[Round]:
        """Around one round: records its start, end and any exception."""

    def error(self, message: str) -> None:
        """A failure inside the round that the task survives."""


class JobRegistry(Protocol):
    """Where a feed registers its periodic tasks (``app.scheduler.Scheduler`` is one)."""

    def polling(self, name: str, seconds: float) -> PeriodicJob:
        """A REST poll: at once, then ``seconds`` after each round."""

    def every(self, name: str, seconds: float, *, description: str) -> PeriodicJob:
        """A timer: ``seconds`` after start, then after each round."""

    def on_demand(self, name: str, *, trigger: str, description: str = "") -> PeriodicJob:
        """A task that runs when ``trigger`` happens."""


class _UntrackedRound:
    result: Any = None


class _Untracked:
    """The job of a feed that reports to no registry."""

    def run(self) -> AbstractAsyncContextManager[Round]:
        return nullcontext(_UntrackedRound())

    def error(self, message: str) -> None:
        return None


class _NoRegistry:
    """A registry that records nothing (feeds in tests and tools)."""

    def polling(self, name: str, seconds: float) -> PeriodicJob:
        return _Untracked()

    def every(self, name: str, seconds: float, *, description: str) -> PeriodicJob:
        return _Untracked()

    def on_demand(self, name: str, *, trigger: str, description: str = "") -> PeriodicJob:
        return _Untracked()


UNTRACKED: JobRegistry = _NoRegistry()
