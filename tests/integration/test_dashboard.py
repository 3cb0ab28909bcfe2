"""The live dashboard in headless Chromium, on a real worker fed through the real broker.

Five minutes of synthetic trades of two symbols, one with a 5 % jump, go
through Kafka to a worker subprocess; once its ``/alerts/`` has the jump's
alert, Chromium opens ``/dashboard/`` and the test waits until the rendered
page shows both symbols' last prices, the price chart with the z-score band
and the alert marker, the alert in the list, and the health panel. The
screenshot is saved as ``test-artifacts/dashboard.png``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from app.topics import topic_name
from models import Trade
from tests.conftest import PROJECT_ROOT, Broker
from tests.integration.headless_chromium import Chromium, find_chromium
from tests.integration.trade_feed import produce, synthetic_trades, worker_environment
from tests.integration.worker_process import WorkerProcess
from tests.waiting import wait_for

pytestmark = pytest.mark.integration

CHROMIUM = find_chromium()
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
SECONDS = 300.0  #: the detector's view: the table still holds every bucket of it
JUMP_AT = 200.0
JUMPY, CALM = "binance:BTC-USDT", "okx:ETH-USDT"

#: What the page shows, read from its DOM in one go.
FACTS = """(() => {
  const all = (s, root) => Array.from((root || document).querySelectorAll(s));
  const rows = {};
  for (const tr of all("#symbols tbody tr")) {
    rows[tr.dataset.key] = {
      last: tr.querySelector(".last").textContent,
      alert: tr.querySelector(".alert").textContent,
    };
  }
  const charts = {};
  for (const chart of all("svg.chart")) {
    charts[chart.dataset.key] = {
      points: Number(chart.dataset.points),
      price: chart.querySelector("path.price").getAttribute("d").length,
      band: chart.querySelector("path.band").getAttribute("d").length,
      markers: all(".alert-marker", chart).map((m) => m.dataset.alertId + ":" + m.dataset.status),
    };
  }
  const alerts = all("#alerts > li").map((li) => ({
    id: li.dataset.alertId, status: li.dataset.status, severity: li.dataset.severity,
    text: li.textContent,
  }));
  const text = (s) => (document.querySelector(s) || {}).textContent || null;
  return {
    rows, charts, alerts,
    ready: text("#health-ready"), status: text("#health-status"),
    poll: text("#poll-state"),
  };
})()"""


def firing_alert(worker: WorkerProcess) -> dict[str, Any] | None:
    assert worker.alive(), worker.logs()
    status, body = worker.get("/alerts/")
    if status != 200 or not body:
        return None
    firing = [a for a in body["recent"] if a["status"] == "firing"]
    return firing[0] if firing else None


def last_prices(trades: list[Trade]) -> dict[str, str]:
    return {trade.key: str(trade.price) for trade in trades}


#: what the health panel says for each answer of ``/ready`` (0: no answer)
READY_WORDS = {0: "not available", 404: "not available", 200: "ready", 503: "not ready"}


def health_shown(facts: dict[str, Any], worker: WorkerProcess) -> bool:
    """The panel says what ``/ready`` and ``/status`` answer, or "not available"."""
    code, _ = worker.get("/ready")
    if facts["ready"] != READY_WORDS.get(code, f"HTTP {code}"):
        return False
    code, status = worker.get("/status")
    shown = facts["status"] or ""
    if code != 200:
        return "not available" in shown
    scalars = [name for name, value in status.items() if not isinstance(value, dict | list)]
    return bool(scalars) and all(name in shown for name in scalars)


def shows_everything(facts: dict[str, Any], alert: dict[str, Any], last: dict[str, str]) -> bool:
    """Both symbols at their last trade's price (every bucket closed), the jump's chart
    with its band and the alert's marker, the alert listed."""
    rows, charts = facts["rows"], facts["charts"]
    chart = charts.get(JUMPY, {})
    listed = [a for a in facts["alerts"] if a["id"] == alert["alert_id"]]
    return (
        all(rows.get(key, {}).get("last") == price for key, price in last.items())
        and chart.get("points", 0) >= SECONDS / 2
        and chart["price"] > 0
        and chart["band"] > 0
        and f"{alert['alert_id']}:firing" in chart["markers"]
        and any(a["status"] == "firing" and alert["reasons"][0] in a["text"] for a in listed)
    )


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium at /usr/bin/chromium: `make browser` installs Debian's package",
)
def test_the_dashboard_shows_prices_the_band_and_the_alert(
    kafka_broker: Broker, tmp_path: Path
) -> None:
    assert CHROMIUM is not None
    env, settings = worker_environment(kafka_broker, tmp_path, "dashboard")
    keys = {JUMPY: {JUMP_AT: 0.05}, CALM: {}}
    trades = synthetic_trades(keys, seconds=SECONDS, markers=False)
    asyncio.run(produce(kafka_broker, topic_name(settings.topics, "trades"), trades))
    last = last_prices(trades)
    worker = WorkerProcess(env, tmp_path)
    worker.start()
    try:
        alert = wait_for(lambda: firing_alert(worker), within=120, what="the alert on /alerts/")
        assert alert["exchange"] + ":" + alert["symbol"] == JUMPY
        status, history = worker.get(f"/history/{JUMPY}/")
        assert status == 200, history
        check_history(history, alert)
        with Chromium(CHROMIUM) as browser:
            browser.open(f"{worker.url}/dashboard/")
            facts: dict[str, Any] = {}

            def rendered() -> bool:
                facts.update(browser.evaluate(FACTS))
                return shows_everything(facts, alert, last) and health_shown(facts, worker)

            try:
                wait_for(rendered, within=60, what="the dashboard to show the data and the alert")
            finally:
                shot = browser.screenshot(ARTIFACTS / "dashboard.png")
            assert CALM in facts["charts"], facts["charts"].keys()
            assert facts["rows"][JUMPY]["alert"] == alert["severity"]
            assert facts["rows"][CALM]["alert"] == ""
            assert shot.stat().st_size > 10_000
    finally:
        assert worker.stop() == 0, worker.logs()


def check_history(history: dict[str, Any], alert: dict[str, Any]) -> None:
    """The chart's data: the jump's bucket closed above the band the detector saw."""
    buckets = history["buckets"]
    assert [b["t"] for b in buckets] == sorted(b["t"] for b in buckets)
    assert alert["alert_id"] in {a["alert_id"] for a in history["alerts"]}
    banded = [b for b in buckets if b["upper"] is not None]
    assert banded, "no bucket has a band"
    before = [b for b in banded if b["close"] < buckets[0]["close"] * 1.02]
    after = [b for b in banded if b["close"] > buckets[0]["close"] * 1.03]
    assert before and after, "the history should span the jump"
    inside = [b for b in before if b["lower"] <= b["close"] <= b["upper"]]
    assert len(inside) >= 0.9 * len(before)
    assert after[0]["close"] > after[0]["upper"], after[0]
