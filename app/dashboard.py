"""The live dashboard: one page on the worker's web server, polling its JSON views.

``/dashboard/`` serves ``app/static/dashboard.html``, which loads its scripts and
style sheet from ``/dashboard/static/`` (plain JavaScript and CSS shipped in the
package: no framework, no build step, nothing fetched from the internet). The
page polls ``/symbols/``, ``/alerts/``, ``/history/{key}/``, ``/ready`` and
``/status``.

``/`` redirects to the dashboard. Faust serves an index of its own at ``/``
(its ``production_index`` blueprint, or ``stats`` in debug mode), but it adds
its blueprints' routes when the web server initialises, after every
``app.page``; aiohttp resolves the routes of one path in the order they were
added, so the redirect registered here answers.
"""

from __future__ import annotations

from importlib import resources

import faust
from faust.web import Request, Response, View

from agents.analytics import Analytics
from agents.history_view import install_history_view

DASHBOARD_PATH = "/dashboard/"
INDEX_PATH = "/"
#: file name -> content type, every file the page needs
STATIC_FILES = {
    "dashboard.html": "text/html; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "chart.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}


def static_file(name: str) -> bytes:
    """A file of ``app/static`` (package data, read wherever the package is installed)."""
    return resources.files("app.static").joinpath(name).read_bytes()


def _serve(app: faust.App, path: str, body: bytes, content_type: str, name: str) -> None:
    async def page(view: View, request: Request) -> Response:
        # aiohttp refuses a charset inside content_type=; the header carries it whole.
        return view.bytes(body, headers={"Content-Type": content_type, "Cache-Control": "no-cache"})

    page.__doc__ = f"The dashboard's {name}."
    app.page(path, name=f"dashboard_{name.replace('.', '_')}")(page)


def _redirect_index(app: faust.App) -> None:
    async def index(view: View, request: Request) -> Response:
        return view.bytes(b"", status=302, headers={"Location": DASHBOARD_PATH})

    index.__doc__ = f"Redirects to the dashboard, {DASHBOARD_PATH}."
    app.page(INDEX_PATH, name="dashboard_index")(index)


def install_dashboard(app: faust.App, analytics: Analytics) -> None:
    """Serve the dashboard (also the answer to ``/``) and the history view its charts
    read."""
    _redirect_index(app)
    install_history_view(app, analytics)
    for name, content_type in STATIC_FILES.items():
        path = DASHBOARD_PATH if name == "dashboard.html" else f"{DASHBOARD_PATH}static/{name}"
        _serve(app, path, static_file(name), content_type, name)
