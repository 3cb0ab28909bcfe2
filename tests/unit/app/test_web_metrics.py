"""``/metrics`` over real HTTP: the ingest server (alone and inside ``run_ingest``
against the exchange simulator) and the page on the worker's Faust web server."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from app.faust_app import create_app
from app.ingest_main import run_ingest
from app.metrics import WorkerMetrics, new_registry
from app.settings import Settings
from app.web_metrics import MetricsServer, install_metrics_page, serving_ingest_metrics
from ingest.simulator import SimulatedExchange, SyntheticMarket
from models.exceptions import ConfigError

TEXT = "text/plain; version=0.0.4; charset=utf-8"
#: The process_* metrics read /proc, where there is one.
HAS_PROC = Path("/proc/self/stat").exists()
OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"  # (+ parameters)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def parse(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def get(url: str, accept: str | None = None) -> tuple[int, str, str]:
    headers = {"Accept": accept} if accept else {}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        return response.status, response.headers["Content-Type"], await response.text()


@pytest.mark.asyncio
async def test_metrics_server_serves_both_formats_and_stops() -> None:
    registry = new_registry()
    WorkerMetrics(registry).trades_processed.labels(exchange="okx").inc(2)
    server = MetricsServer(registry, "127.0.0.1", 0)
    await server.start()
    try:
        assert server.port != 0
        status, content_type, text = await get(server.url)
        assert (status, content_type) == (200, TEXT)
        samples = parse(text)
        assert samples["marketprism_worker_trades_processed_total", (("exchange", "okx"),)] == 2
        if HAS_PROC:
            assert samples["process_cpu_seconds_total", ()] > 0
        accept = "application/openmetrics-text; version=1.0.0"
        status, content_type, text = await get(server.url, accept)
        assert status == 200 and content_type.startswith(OPENMETRICS)
        assert text.endswith("# EOF\n")
        status, _, _ = await get(server.url.replace("/metrics", "/other"))
        assert status == 404
    finally:
        await server.stop()
    with pytest.raises(aiohttp.ClientConnectionError):
        await get(server.url)


@pytest.mark.asyncio
async def test_a_taken_port_is_a_configuration_error_and_zero_serves_nothing() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = Settings(ingest={"metrics_port": port})
        with pytest.raises(ConfigError, match="MARKETPRISM_INGEST__METRICS_PORT"):
            async with serving_ingest_metrics(settings, [], producer=None, meter=None):
                pytest.fail("must not start")
    async with serving_ingest_metrics(
        Settings(ingest={"metrics_port": 0}), [], producer=None, meter=None
    ) as server:
        assert server is None


@pytest.mark.asyncio
async def test_faust_worker_page_serves_its_registry(tmp_path: Path) -> None:
    app = create_app(Settings(store={"data_dir": tmp_path / "worker"}))
    registry = new_registry()
    metrics = WorkerMetrics(registry)
    metrics.alerts.labels(severity="high", status="firing").inc()
    metrics.recovering.set(1)
    install_metrics_page(app, registry)
    async with TestClient(TestServer(await app.web.wsgi())) as client:
        response = await client.get("/metrics")
        assert (response.status, response.headers["Content-Type"]) == (200, TEXT)
        samples = parse(await response.text())
        labels = (("severity", "high"), ("status", "firing"))
        assert samples["marketprism_worker_alerts_total", labels] == 1
        assert samples["marketprism_worker_recovering", ()] == 1
        response = await client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
        assert response.headers["Content-Type"].startswith(OPENMETRICS)
        assert (await response.text()).endswith("# EOF\n")


async def scrape_until(
    url: str, condition: Callable[[Samples], bool], *, within: float = 30.0
) -> Samples:
    """Scrape ``url`` until ``condition`` holds on the samples (fail after ``within`` s)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    samples: Samples = {}
    while loop.time() < deadline:
        with contextlib.suppress(aiohttp.ClientConnectionError):
            samples = parse((await get(url))[2])
            if condition(samples):
                return samples
        await asyncio.sleep(0.1)
    pytest.fail(f"condition not met within {within} s; last scrape: {sorted(samples)[:40]}")


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    return sum(
        value
        for (sample, sample_labels), value in samples.items()
        if sample == name and set(labels.items()) <= set(sample_labels)
    )


@pytest.mark.asyncio
async def test_ingest_serves_metrics_while_it_collects_from_the_simulator(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    market = SyntheticMarket(["BTC-USDT"], rate=200, seed=7)
    async with SimulatedExchange("binance", market) as sim:
        settings = Settings(
            exchanges={"binance": {"ws_url": sim.ws_url, "rest_url": sim.rest_url}},
            ingest={"metrics_port": port},
        )
        ingest = asyncio.create_task(
            run_ingest(
                settings,
                to_stdout=True,
                exchanges=["binance"],
                symbols=["BTC-USDT"],
                channels=["trades", "book"],
                duration=120,
            )
        )
        try:
            await _faults_show_in_the_metrics(sim, url)
        finally:
            ingest.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ingest
    with pytest.raises(aiohttp.ClientConnectionError):
        await get(url)  # the server stopped with ingest
    assert b'"type":"trade"' in capsysbinary.readouterr().out


async def _faults_show_in_the_metrics(sim: SimulatedExchange, url: str) -> None:
    binance = {"exchange": "binance"}

    def flowing(s: Samples) -> bool:
        trades = total(s, "marketprism_ingest_records_total", **binance, data_type="trades")
        return trades > 0 and total(s, "marketprism_ingest_connections_up", **binance) == 1

    samples = await scrape_until(url, flowing)
    assert total(samples, "marketprism_ingest_messages_total", **binance) > 0
    assert total(samples, "marketprism_ingest_event_lag_seconds_count", **binance) > 0

    sim.faults.malformed(2)
    sim.faults.sequence_gap("BTC-USDT")
    await _until(url, "marketprism_ingest_dead_letters_total", reason="invalid_json", at_least=2)
    await _until(url, "marketprism_ingest_gaps_total", cause="sequence_gap")
    await _until(url, "marketprism_ingest_resyncs_total", cause="sequence_gap")

    sim.faults.drop_connections()
    await _until(url, "marketprism_ingest_reconnects_total", cause="connection_lost")
    await scrape_until(url, lambda s: total(s, "marketprism_ingest_connections_up") == 1)


async def _until(url: str, name: str, *, at_least: float = 1, **labels: str) -> None:
    def reached(samples: Samples) -> bool:
        return total(samples, name, **labels) >= at_least

    await scrape_until(url, reached)
