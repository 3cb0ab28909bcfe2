"""``/metrics`` over HTTP: a page on the worker's Faust web server, and a small
server of its own for ``marketprism ingest``, which also serves the ingest
health pages (``/health``, ``/ready``, ``/status``, ``/scheduler``: :mod:`app.health`).

Both answer in the format the scraper asks for (``Accept``): Prometheus text,
or OpenMetrics. The ingest server runs on the ingest event loop, so a scrape
reads the stats objects between two steps of the collectors and never sees
one half-updated.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager

import faust
from aiohttp import web
from faust.web import Request, Response, View
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from app.health.ingest_health import IngestHealth, PollLimits
from app.health.model import Liveness
from app.health.pages import JSON, Page, health_pages, render
from app.metrics import IngestCollector, MeteredSink, new_registry
from app.scheduler import Scheduler
from app.settings import Settings
from ingest.feed import VenueFeed
from ingest.producer import ProducerStats
from models.exceptions import ConfigError

logger = logging.getLogger(__name__)

METRICS_PATH = "/metrics"


def exposition(registry: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """The registry's metrics encoded for an ``Accept`` header, and their content type."""
    encode, content_type = choose_encoder(accept or "")
    return encode(registry), content_type


def install_metrics_page(app: faust.App, registry: CollectorRegistry) -> None:
    """Serve ``registry`` at ``/metrics`` on ``app``'s web server (before the worker starts)."""

    async def metrics(view: View, request: Request) -> Response:
        """Prometheus metrics of this worker."""
        body, content_type = exposition(registry, request.headers.get("Accept"))
        # aiohttp refuses a charset inside content_type=; the header carries it whole.
        return view.bytes(body, headers={"Content-Type": content_type})

    app.page(METRICS_PATH, name="metrics")(metrics)


class MetricsServer:
    """``GET /metrics`` of ``registry`` on ``host:port`` (port 0: any free port), and
    the JSON ``pages`` (path -> page)."""

    def __init__(
        self,
        registry: CollectorRegistry,
        host: str,
        port: int,
        pages: Mapping[str, Page] | None = None,
    ) -> None:
        self.registry = registry
        self.host = host
        self._port = port
        application = web.Application()
        application.router.add_get(METRICS_PATH, self._metrics)
        for path, page in (pages or {}).items():
            application.router.add_get(path, _json_handler(page))
        self._runner = web.AppRunner(application, access_log=None)

    @property
    def port(self) -> int:
        """The port listened on (the one chosen when 0 was asked for)."""
        for address in self._runner.addresses:
            return int(address[1])
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{METRICS_PATH}"

    async def start(self) -> None:
        """Listen; raises :class:`OSError` when the address is taken."""
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.host, self._port).start()
        except BaseException:
            await self._runner.cleanup()
            raise

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def _metrics(self, request: web.Request) -> web.Response:
        body, content_type = exposition(self.registry, request.headers.get("Accept"))
        return web.Response(body=body, headers={"Content-Type": content_type})


def _json_handler(page: Page) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        status, body = render(page)
        return web.Response(body=body, status=status, content_type=JSON)

    return handle


@asynccontextmanager
async def serving_ingest_metrics(
    settings: Settings,
    feeds: Sequence[VenueFeed],
    *,
    producer: ProducerStats | None,
    meter: MeteredSink | None,
    scheduler: Scheduler | None = None,
) -> AsyncIterator[MetricsServer | None]:
    """The ingest metrics and health pages on ``MARKETPRISM_WEB__BIND`` :
    ``MARKETPRISM_INGEST__METRICS_PORT`` while the block runs (nothing when the port
    is 0). A port that is taken is a configuration error: ingest does not start
    without the metrics it was told to serve."""
    port = settings.ingest.metrics_port
    if port == 0:
        yield None
        return
    registry = new_registry()
    registry.register(IngestCollector(feeds, producer=producer, meter=meter))
    jobs = scheduler or Scheduler()
    health = IngestHealth(feeds, producer, jobs=jobs, limits=PollLimits.of(settings.polling))
    pages = health_pages(Liveness("ingest"), health.readiness, health.status, jobs)
    server = MetricsServer(registry, settings.web.bind, port, pages)
    try:
        await server.start()
    except OSError as exc:
        raise ConfigError(
            f"MARKETPRISM_INGEST__METRICS_PORT: cannot listen on {settings.web.bind}:{port} "
            f"({exc.strerror or exc}); choose another port, or 0 to serve no metrics"
        ) from exc
    logger.info("ingest metrics on %s", server.url)
    try:
        yield server
    finally:
        await server.stop()
