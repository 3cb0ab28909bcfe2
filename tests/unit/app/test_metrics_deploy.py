"""docker-compose.yml, the Prometheus scrape config and the Grafana provisioning agree
with the default settings and with the metrics app/metrics.py defines."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.metrics import METRICS
from app.settings import Settings
from app.web_metrics import METRICS_PATH

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "docker-compose.yml"
PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
DATASOURCE_UID = "marketprism-prometheus"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def service(name: str) -> dict[str, Any]:
    services: dict[str, dict[str, Any]] = load_yaml(COMPOSE)["services"]
    return services[name]


def mounts(name: str) -> dict[str, str]:
    """Container path -> host path (relative to the project) of a service's bind mounts."""
    out = {}
    for volume in service(name).get("volumes", []):
        host, container = volume.split(":")[:2]
        if host.startswith("./"):
            out[container] = host
    return out


def flag(name: str, option: str) -> str:
    [value] = [arg.split("=", 1)[1] for arg in service(name)["command"] if arg.startswith(option)]
    return value


def jobs() -> dict[str, dict[str, Any]]:
    return {job["job_name"]: job for job in load_yaml(PROMETHEUS)["scrape_configs"]}


def targets(job: dict[str, Any]) -> list[str]:
    return [target for group in job["static_configs"] for target in group["targets"]]


def test_every_bind_mount_exists() -> None:
    for name in ("prometheus", "grafana"):
        for host in mounts(name).values():
            assert (ROOT / host).exists(), f"{name} mounts missing {host}"


def test_prometheus_runs_this_config_and_scrapes_the_default_ports() -> None:
    container = flag("prometheus", "--config.file")
    assert (ROOT / mounts("prometheus")[container]).resolve() == PROMETHEUS
    settings = Settings()
    # Host networking: the targets are the addresses the processes listen on.
    assert service("prometheus")["network_mode"] == "host"
    worker, ingest = jobs()["marketprism-worker"], jobs()["marketprism-ingest"]
    assert targets(worker) == [f"{settings.web.bind}:{settings.web.port}"]
    assert targets(ingest) == [f"{settings.web.bind}:{settings.ingest.metrics_port}"]
    assert worker["metrics_path"] == ingest["metrics_path"] == METRICS_PATH
    listen = flag("prometheus", "--web.listen-address")
    assert targets(jobs()["prometheus"]) == [listen]


def test_grafana_reads_the_provisioned_prometheus_and_dashboards() -> None:
    assert service("grafana")["network_mode"] == "host"
    grafana_mounts = mounts("grafana")
    provisioning = ROOT / grafana_mounts["/etc/grafana/provisioning"]
    [datasource] = load_yaml(provisioning / "datasources" / "prometheus.yml")["datasources"]
    listen = flag("prometheus", "--web.listen-address")
    assert (datasource["uid"], datasource["url"]) == (DATASOURCE_UID, f"http://{listen}")
    [provider] = load_yaml(provisioning / "dashboards" / "marketprism.yml")["providers"]
    path = provider["options"]["path"]
    assert (ROOT / grafana_mounts[path]).resolve() == GRAFANA / "dashboards"
    home = service("grafana")["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert Path(home).parent == Path(path) and (GRAFANA / "dashboards" / Path(home).name).exists()


def queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, PromQL) of every target of every panel."""
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def queryable() -> set[str]:
    """Every series name the metrics expose (histograms as _bucket, _sum and _count)."""
    names = set()
    for spec in METRICS:
        if spec.kind == "histogram":
            names |= {f"{spec.name}_bucket", f"{spec.name}_sum", f"{spec.name}_count"}
        else:
            names.add(spec.name)
    return names


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_queries_name_only_defined_metrics(path: Path) -> None:
    dashboard = json.loads(path.read_text())
    found = queries(dashboard)
    assert found, "a dashboard with no queries"
    used = set()
    for title, expr in found:
        names = set(re.findall(r"\bmarketprism_[a-z0-9_]+", expr))
        assert names, f"{title}: {expr} reads no MarketPrism metric"
        assert names <= queryable(), f"{title}: unknown {names - queryable()}"
        used |= names
    for panel in dashboard["panels"]:
        sources = [panel["datasource"], *(t["datasource"] for t in panel["targets"])]
        assert {source["uid"] for source in sources} == {DATASOURCE_UID}, panel["title"]
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
    # What the dashboard is for: rates, lag, alerts, sink output, the producer buffer.
    assert {
        "marketprism_ingest_messages_total",
        "marketprism_ingest_event_lag_seconds_bucket",
        "marketprism_worker_event_lag_seconds_bucket",
        "marketprism_worker_alerts_total",
        "marketprism_sink_rows_written_total",
        "marketprism_ingest_producer_buffered_records",
    } <= used


def test_promtool_accepts_the_prometheus_config() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not on PATH (it comes with Prometheus)")
    result = subprocess.run(  # noqa: S603 - a fixed tool and our own file
        [promtool, "check", "config", str(PROMETHEUS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
