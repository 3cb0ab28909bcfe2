"""The shape every aggregation has (Quix Streams' shape): a plain class over a small,
immutable, serializable state.

``merge(a, b)`` combines the state of an earlier part ``a`` with the state of the
part ``b`` that follows it in event time; it is associative (so buckets can be
merged in any grouping) but not necessarily commutative (open, close and the
return across the seam depend on order). ``initialize()`` is its identity.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar

S = TypeVar("S")
E_contra = TypeVar("E_contra", contravariant=True)
R_co = TypeVar("R_co", covariant=True)


class Mergeable(Protocol[S]):
    """What windows need of an accumulator: an identity and an ordered merge."""

    def initialize(self) -> S: ...

    def merge(self, a: S, b: S) -> S: ...


class Accumulator(Mergeable[S], Protocol[S, E_contra, R_co]):
    """``initialize / add / add_many / merge / result`` plus bytes for a table."""

    def add(self, state: S, event: E_contra) -> S: ...

    def add_many(self, state: S, events: Iterable[E_contra]) -> S:
        """Add a batch (one key's events of one batch) and return one new state:
        the way to do one table write per key per batch rather than per event."""
        ...

    def result(self, state: S) -> R_co: ...

    def to_bytes(self, state: S) -> bytes: ...

    def from_bytes(self, data: bytes) -> S: ...
