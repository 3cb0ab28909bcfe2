"""The README's metrics table lists exactly the metrics app/metrics.py registers."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from app.metrics import METRICS, IngestCollector, WorkerMetrics, new_registry
from app.settings import Settings

README = Path(__file__).resolve().parents[3] / "README.md"
ROW = re.compile(
    r"^\| `(marketprism_[a-z0-9_]+)` \| (counter|gauge|histogram) \| ([^|]*) \| [^|]+ \|$"
)

Row = tuple[str, str, tuple[str, ...]]


def metrics_section() -> str:
    text = README.read_text()
    start = text.index("\n## Metrics\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def readme_rows() -> list[Row]:
    rows = []
    for line in metrics_section().splitlines():
        if line.startswith("| `marketprism_"):
            match = ROW.match(line)
            assert match, f"malformed metrics row: {line}"
            name, kind, labels = match.groups()
            names = () if labels.strip() == "none" else tuple(re.split(r",\s*", labels.strip()))
            rows.append((name, kind, names))
    return rows


def registered() -> set[tuple[str, str]]:
    """(name as queried, type) of every marketprism_ family a process exposes."""
    registry = new_registry()
    registry.register(IngestCollector([]))
    WorkerMetrics(registry)
    families = text_string_to_metric_families(generate_latest(registry).decode())
    return {
        (f"{f.name}_total" if f.type == "counter" else f.name, f.type)
        for f in families
        if f.name.startswith("marketprism_")
    }


def test_readme_table_is_exactly_the_registered_metrics() -> None:
    rows = readme_rows()
    assert len(rows) == len({name for name, _, _ in rows}), "a metric listed twice"
    assert set(rows) == {(spec.name, spec.kind, spec.labels) for spec in METRICS}
    assert {(name, kind) for name, kind, _ in rows} == registered()


def test_readme_names_the_default_ports() -> None:
    settings = Settings()
    section = metrics_section()
    assert f"MARKETPRISM_INGEST__METRICS_PORT` ({settings.ingest.metrics_port}," in section
    assert f"{settings.web.bind}:{settings.web.port} by default" in section
