// MarketPrism live dashboard: polls the worker's JSON views and draws them.
// Plain JavaScript, no framework, no network beyond the worker's own pages;
// chart.js (loaded first) draws the price charts.
// Every text from the data goes through textContent, never innerHTML.
"use strict";

const POLL_MS = 1500;
const MAX_CHARTS = 4;
const MAX_ALERTS = 40;

const state = {
  symbols: [],
  chosen: null, // keys the user picked to chart; null: chosen automatically
  polls: 0,
};

// -- fetching -----------------------------------------------------------------

async function getJson(path) {
  const started = performance.now();
  try {
    const response = await fetch(path, { cache: "no-store", headers: { Accept: "application/json" } });
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    return { path, status: response.status, ok: response.ok, body, ms: performance.now() - started };
  } catch (error) {
    return { path, status: 0, ok: false, body: null, ms: performance.now() - started, error: String(error) };
  }
}

function keyPath(prefix, key) {
  return prefix + key.split(":").map(encodeURIComponent).join(":") + "/";
}

// -- small DOM helpers ----------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function badge(severity) {
  return el("span", { class: "badge sev-" + severity, text: severity });
}

function formatPrice(value, reference) {
  if (value === null || value === undefined || !isFinite(value)) return "–";
  const scale = Math.abs(reference || value);
  const digits = scale >= 1000 ? 2 : scale >= 1 ? 4 : 6;
  return Number(value).toFixed(digits);
}

function formatPct(value) {
  if (value === null || value === undefined || !isFinite(value)) return "–";
  return (value >= 0 ? "+" : "") + value.toFixed(2) + " %";
}

// -- symbols ----------------------------------------------------------------------

function latestOf(row, label) {
  return (row.latest || {})[label] || null;
}

function lastPrice(row) {
  // the newest closed 1 s window's close: the exact decimal string the worker holds
  const second = latestOf(row, "tumbling_1s");
  const minute = latestOf(row, "tumbling_60s");
  if (second && minute) return second.window_end >= minute.window_end ? second.close : minute.close;
  return (second || minute || {}).close || null;
}

function activeAlert(row) {
  if (!row.active_alert_id) return null;
  const alerts = (row.recent_alerts || []).filter((a) => a.alert_id === row.active_alert_id);
  return alerts.length ? alerts[alerts.length - 1] : null;
}

function chartedKeys() {
  const keys = state.symbols.map((row) => row.key);
  if (state.chosen !== null) return keys.filter((key) => state.chosen.has(key));
  const alerting = state.symbols.filter((row) => row.active_alert_id).map((row) => row.key);
  const rest = keys.filter((key) => !alerting.includes(key));
  return [...alerting, ...rest].slice(0, MAX_CHARTS);
}

function toggleChart(key) {
  if (state.chosen === null) state.chosen = new Set(chartedKeys());
  if (state.chosen.has(key)) state.chosen.delete(key);
  else state.chosen.add(key);
  poll();
}

function renderSymbols(rows) {
  const body = document.querySelector("#symbols tbody");
  const charted = new Set(chartedKeys());
  body.replaceChildren(
    ...rows.map((row) => {
      const minute = latestOf(row, "tumbling_60s");
      const change = minute ? (100 * (Number(minute.close) - Number(minute.open))) / Number(minute.open) : null;
      const alert = activeAlert(row);
      const tr = el(
        "tr",
        { "data-key": row.key, class: charted.has(row.key) ? "charted" : null },
        el("td", {}, el("input", { type: "checkbox", checked: charted.has(row.key), "aria-label": "chart " + row.key })),
        el("td", {}, el("span", { class: "symbol", text: row.symbol }), " ", el("span", { class: "exchange", text: row.exchange })),
        el("td", { class: "num last", text: lastPrice(row) || "–" }),
        el("td", { class: "num change " + (change > 0 ? "up" : change < 0 ? "down" : ""), text: formatPct(change) }),
        el("td", { class: "num trades", text: minute ? minute.trade_count : "–" }),
        el("td", { class: "alert" }, alert ? badge(alert.severity) : ""),
      );
      tr.addEventListener("click", () => toggleChart(row.key));
      return tr;
    }),
  );
  document.getElementById("symbols-empty").hidden = rows.length > 0;
}

// -- alerts -------------------------------------------------------------------------

function renderAlerts(alerts) {
  const list = document.getElementById("alerts");
  const active = new Set((alerts.active || []).map((a) => a.alert_id));
  const recent = (alerts.recent || []).slice(0, MAX_ALERTS);
  list.replaceChildren(
    ...recent.map((alert) => {
      const at = Date.parse(alert.timestamp);
      const figures = [];
      if (alert.z_score !== null && alert.z_score !== undefined) figures.push("z " + alert.z_score.toFixed(2));
      if (alert.price_change_pct !== null && alert.price_change_pct !== undefined) figures.push(formatPct(alert.price_change_pct));
      if (alert.price) figures.push("@ " + formatPrice(alert.price));
      figures.push("confidence " + Math.round(alert.confidence) + "%");
      return el(
        "li",
        {
          "data-alert-id": alert.alert_id,
          "data-status": alert.status,
          "data-severity": alert.severity,
          class: active.has(alert.alert_id) && alert.status !== "resolved" ? "active" : null,
        },
        el(
          "div",
          { class: "head" },
          badge(alert.severity),
          el("span", { class: "key", text: alert.exchange + ":" + alert.symbol }),
          el("span", { class: "status", text: alert.status }),
          el("span", { class: "time", text: utcTime(at, true) + " UTC" }),
        ),
        el("div", { class: "figures", text: figures.join(" · ") }),
        el("ul", { class: "reasons" }, ...(alert.reasons || []).map((reason) => el("li", { text: reason }))),
      );
    }),
  );
  document.getElementById("alerts-empty").hidden = recent.length > 0;
  document.getElementById("alerts-count").textContent = active.size ? `(${active.size} active)` : "";
}

// -- health -------------------------------------------------------------------------
// /ready: {ready, reasons?, checks: [{name, ok, reason?, detail?}]}, 200 or 503.
// /status: scalars (process, uptime_seconds, ...), partitions [{lag, ...}], sinks {type: {...}}.
// Either may be absent (404) on a worker that does not serve it: "not available".

function text(value, cls) {
  return el("span", { class: cls || null, text: value });
}

function scalar(value) {
  if (value === null || value === undefined) return text("–", "na");
  if (typeof value === "boolean") return text(value ? "yes" : "no", value ? "ok" : "bad");
  if (typeof value === "number") return text(String(Math.round(value * 1000) / 1000));
  return text(String(value));
}

function describe(list, entries) {
  for (const [name, value] of entries) list.append(el("dt", { text: name }), el("dd", {}, value));
}

function unavailable(result) {
  return result.status === 0 || result.status === 404;
}

function readyState(result) {
  if (unavailable(result)) return text("not available", "na");
  if (result.status === 200) return text("ready", "ok");
  if (result.status === 503) return text("not ready", "bad");
  return text("HTTP " + result.status, "bad");
}

function sinkLine(sink) {
  if (!sink || typeof sink !== "object") return scalar(sink);
  const parts = [];
  if (sink.rows_written !== undefined) parts.push(sink.rows_written + " rows");
  if (sink.files_written !== undefined) parts.push(sink.files_written + " files");
  if (sink.unacked_events) parts.push(sink.unacked_events + " waiting");
  if (sink.failing) return text(parts.concat("failing: " + (sink.last_error || "?")).join(" · "), "bad");
  return text(parts.join(" · ") || JSON.stringify(sink), "ok");
}

function sinksSummary(sinks) {
  const all = Object.entries(sinks);
  const failing = all.filter(([, sink]) => sink && sink.failing).map(([type]) => type);
  const total = (field) => all.reduce((sum, [, sink]) => sum + ((sink && sink[field]) || 0), 0);
  const line = `${all.length} · ${failing.length ? "failing: " + failing.join(", ") : "none failing"}` +
    ` · ${total("rows_written")} rows written · ${total("unacked_events")} events waiting`;
  const details = el("dl");
  for (const [type, sink] of all) describe(details, [[type, sinkLine(sink)]]);
  return el("span", {}, text(line, failing.length ? "bad" : "ok"), el("details", {}, el("summary", { text: "each sink" }), details));
}

function statusList(body) {
  const list = el("dl");
  const more = [];
  for (const [name, value] of Object.entries(body)) {
    if (name === "partitions" && Array.isArray(value)) {
      const lag = value.reduce((sum, p) => sum + (typeof p.lag === "number" ? p.lag : 0), 0);
      describe(list, [["partitions", text(`${value.length} assigned · lag ${lag}`)]]);
    } else if (name === "sinks" && value && typeof value === "object" && !Array.isArray(value)) {
      describe(list, [["sinks", sinksSummary(value)]]);
    } else if (value !== null && typeof value === "object") {
      more.push([name, value]);
    } else {
      describe(list, [[name, scalar(value)]]);
    }
  }
  const block = [list];
  if (more.length) {
    const details = el("dl");
    for (const [name, value] of more) describe(details, [[name, text(JSON.stringify(value))]]);
    block.push(el("details", {}, el("summary", { text: "more" }), details));
  }
  return block;
}

function renderHealth(ready, status, views) {
  const summary = el("dl", { id: "health-summary" });
  describe(summary, [["ready", el("span", { id: "health-ready", "data-status": ready.status }, readyState(ready))]]);
  const body = ready.body && typeof ready.body === "object" ? ready.body : {};
  const checks = Array.isArray(body.checks) ? body.checks : [];
  if (checks.length) {
    const passed = checks.filter((check) => check.ok);
    describe(summary, [["checks", text(`${passed.length} of ${checks.length} ok`, passed.length === checks.length ? "ok" : "bad")]]);
  }
  for (const check of checks.filter((c) => !c.ok)) describe(summary, [[check.name, text(check.reason || "failing", "bad")]]);
  const symbols = views.body ? (views.body.symbols || []).length : null;
  describe(summary, [
    ["views", views.ok ? text(`answering in ${Math.round(views.ms)} ms`, "ok") : text(`HTTP ${views.status}`, "bad")],
    ["symbols", scalar(symbols)],
  ]);
  const statusBlock = el("div", { id: "health-status", "data-status": status.status });
  if (status.ok && status.body && typeof status.body === "object") {
    statusBlock.append(el("h3", { text: "status" }), ...statusList(status.body));
  } else {
    const list = el("dl");
    describe(list, [["status", unavailable(status) ? text("not available", "na") : text("HTTP " + status.status, "bad")]]);
    statusBlock.append(list);
  }
  document.getElementById("health").replaceChildren(summary, statusBlock);
}

// -- charts (renderChart: chart.js) -----------------------------------------------

function renderChartCard(key, result, row) {
  const card = el("div", { class: "chart-card", "data-key": key });
  const history = result.body;
  const title = el("div", { class: "title" }, el("span", { class: "key", text: key }));
  card.append(title);
  if (!result.ok || !history) {
    card.append(el("p", { class: "note", text: `history not available (HTTP ${result.status})` }));
    return card;
  }
  const points = history.buckets || [];
  const last = (row && lastPrice(row)) || (points.length ? formatPrice(points[points.length - 1].close) : null);
  if (last) title.append(el("span", { class: "price", text: last }));
  const active = history.alerts.filter((a) => a.alert_id === history.active_alert_id);
  if (active.length) title.append(badge(active[active.length - 1].severity));
  title.append(
    el("span", {
      class: "note",
      text: `${points.length} buckets of ${history.bucket_seconds} s · band: ${history.view_seconds} s mean ± ${history.z_score_threshold} σ · served by ${history.served_by}`,
    }),
  );
  if (!points.length) {
    card.append(el("p", { class: "note", text: "no closed bucket in the detector's view yet" }));
    return card;
  }
  card.append(
    renderChart(history),
    el(
      "div",
      { class: "legend" },
      el("span", {}, el("i", { class: "l-price" }), "close"),
      el("span", {}, el("i", { class: "l-mean" }), "view mean"),
      el("span", {}, el("i", { class: "l-band" }), `± ${history.z_score_threshold} σ`),
      el("span", {}, el("i", { class: "l-alert" }), "alerts (UTC)"),
    ),
  );
  return card;
}

function renderCharts(keys, histories) {
  const root = document.getElementById("charts");
  const rows = new Map(state.symbols.map((row) => [row.key, row]));
  root.replaceChildren(...keys.map((key, n) => renderChartCard(key, histories[n], rows.get(key))));
  document.getElementById("charts-empty").hidden = keys.length > 0;
}

// -- the loop -----------------------------------------------------------------------

let timer = null;
let running = false;

async function poll() {
  if (running) return;
  running = true;
  clearTimeout(timer);
  const pollState = document.getElementById("poll-state");
  try {
    const [views, alerts, ready, status] = await Promise.all([
      getJson("/symbols/"),
      getJson("/alerts/"),
      getJson("/ready"),
      getJson("/status"),
    ]);
    if (views.ok && views.body) state.symbols = views.body.symbols || [];
    const keys = chartedKeys();
    const histories = await Promise.all(keys.map((key) => getJson(keyPath("/history/", key))));
    renderSymbols(state.symbols);
    if (alerts.ok && alerts.body) renderAlerts(alerts.body);
    renderCharts(keys, histories);
    renderHealth(ready, status, views);
    state.polls += 1;
    const failed = [views, alerts, ...histories].filter((r) => !r.ok);
    if (failed.length) {
      pollState.dataset.state = "error";
      pollState.textContent = failed.map((r) => `${r.path}: ${r.status || r.error}`).join(" · ");
    } else {
      pollState.dataset.state = "live";
      pollState.textContent = `updated ${utcTime(Date.now())} UTC · every ${POLL_MS / 1000} s`;
    }
  } catch (error) {
    pollState.dataset.state = "error";
    pollState.textContent = "dashboard error: " + error;
  } finally {
    running = false;
    timer = setTimeout(poll, POLL_MS);
  }
}

poll();
