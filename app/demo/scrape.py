"""Reading a process's ``/metrics`` page: what the demo's progress lines show.

The demo watches its children the way an operator's Prometheus would, through
the same endpoints, so what it prints is what a scrape says.
"""

from __future__ import annotations

import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

Labels = tuple[tuple[str, str], ...]


@dataclass
class Scrape:
    """Samples by name, then by their sorted labels."""

    samples: dict[str, dict[Labels, float]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Scrape:
        samples: dict[str, dict[Labels, float]] = defaultdict(dict)
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples[sample.name][tuple(sorted(sample.labels.items()))] = sample.value
        return cls(dict(samples))

    def total(self, name: str, **match: str) -> float:
        """Sum of ``name`` over the samples whose labels include ``match``."""
        wanted = set(match.items())
        return sum(v for k, v in self.samples.get(name, {}).items() if wanted <= set(k))

    def by(self, name: str, label: str) -> dict[str, float]:
        """``name`` summed per value of ``label``."""
        sums: dict[str, float] = defaultdict(float)
        for labels, value in self.samples.get(name, {}).items():
            sums[dict(labels).get(label, "")] += value
        return dict(sums)

    def quantile(self, name: str, q: float) -> float | None:
        """The ``q`` quantile of histogram ``name`` (all label sets merged), from its buckets:
        the upper bound of the first bucket holding it. None without observations."""
        buckets: dict[float, float] = defaultdict(float)
        for labels, value in self.samples.get(f"{name}_bucket", {}).items():
            buckets[float(dict(labels)["le"])] += value
        if not buckets:
            return None
        bounds = sorted(buckets)
        count = buckets[bounds[-1]]
        if count == 0:
            return None
        for bound in bounds:
            if buckets[bound] >= q * count:
                return bound
        return bounds[-1]


def scrape(url: str, timeout: float = 2.0) -> Scrape | None:
    """The metrics at ``url``, or None if it does not answer."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            return Scrape.parse(response.read().decode())
    except OSError:
        return None
