"""Composition of the worker: settings -> Faust app -> topics (-> agents, views).

``faust -A app.main worker`` finds the ``app`` attribute of this module; it
is built on first access (PEP 562 ``__getattr__``), so importing the module
still reads no settings and opens no connection.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import faust

from agents.analytics import Analytics, install_analytics
from agents.maintenance import install_compaction
from agents.storage import SinkAgents, install_sinks
from app.dashboard import install_dashboard
from app.faust_app import create_app
from app.health.worker_health import install_worker_health
from app.metrics import WorkerMetrics, new_registry
from app.scheduler import Scheduler
from app.settings import Settings, load_settings
from app.topics import Topics, define_topics, ensure_topics
from app.web_metrics import install_metrics_page

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pipeline:
    settings: Settings
    app: faust.App
    topics: Topics
    analytics: Analytics
    sinks: SinkAgents | None = None
    scheduler: Scheduler | None = None


def build(settings: Settings | None = None) -> Pipeline:
    """Wire a worker from ``settings`` (read from the environment when omitted)."""
    settings = settings if settings is not None else load_settings()
    app = create_app(settings)
    topics = define_topics(app, settings)

    async def create_missing_topics() -> None:
        created = await ensure_topics(settings)
        if created:
            logger.info("created topics: %s", ", ".join(created))

    app.task(create_missing_topics)
    registry = new_registry()
    metrics = WorkerMetrics(registry)
    install_metrics_page(app, registry)
    scheduler = Scheduler()
    analytics = install_analytics(app, topics, settings, metrics=metrics, scheduler=scheduler)
    install_dashboard(app, analytics)
    # the windows agent dead-letters the trades topic's bad records: once is enough
    sinks = install_sinks(
        app,
        topics,
        settings,
        metrics=metrics,
        scheduler=scheduler,
        dead_lettered_elsewhere=frozenset({"trades"}),
    )
    install_compaction(app, settings, scheduler)
    install_worker_health(app, settings, sinks=sinks, scheduler=scheduler, metrics=metrics)
    return Pipeline(
        settings=settings,
        app=app,
        topics=topics,
        analytics=analytics,
        sinks=sinks,
        scheduler=scheduler,
    )


_default: Pipeline | None = None


def __getattr__(name: str) -> faust.App:
    global _default
    if name == "app":
        if _default is None:
            _default = build()
        return _default.app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
