"""The four health pages of a process, and serving them on a Faust web server.

``/health`` (200 while the process serves), ``/ready`` (200 or 503 with the
reasons), ``/status`` and ``/scheduler``; all JSON. The ingest process serves
them on its own small aiohttp server (:class:`app.web_metrics.MetricsServer`),
the worker on Faust's web server (:func:`install_faust_pages`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import faust
from faust.web import Request, Response, View

from app.health.model import Document, Liveness, Readiness, to_json
from app.scheduler import Scheduler

#: path -> (HTTP status, JSON document)
Page = Callable[[], tuple[int, Document]]
JSON = "application/json"


def health_pages(
    liveness: Liveness,
    readiness: Callable[[], Readiness],
    status: Callable[[], Document],
    scheduler: Scheduler,
    *,
    about: Callable[[], Document] = dict,
) -> dict[str, Page]:
    """The pages of one process; ``about`` adds process facts to ``/status`` and
    ``/scheduler`` (e.g. whether the worker leads its group)."""

    def health() -> tuple[int, Document]:
        return 200, liveness.document()

    def ready() -> tuple[int, Document]:
        result = readiness()
        return result.http_status, {"process": liveness.process, **result.document()}

    def status_page() -> tuple[int, Document]:
        head = liveness.document()
        del head["status"]
        return 200, {**head, **about(), "ready": readiness().ready, **status()}

    def jobs() -> tuple[int, Document]:
        return 200, {"process": liveness.process, **about(), **scheduler.document()}

    return {"/health": health, "/ready": ready, "/status": status_page, "/scheduler": jobs}


def install_faust_pages(app: faust.App, pages: Mapping[str, Page]) -> None:
    """Serve ``pages`` on ``app``'s web server (before the worker starts)."""
    for path, page in pages.items():

        async def handler(view: View, request: Request, page: Page = page) -> Response:
            code, document = page()
            return view.bytes(to_json(document), content_type=JSON, status=code)

        app.page(path, name=f"marketprism{path.replace('/', '.')}")(handler)


def render(page: Page) -> tuple[int, bytes]:
    code, document = page()
    return code, to_json(document)
