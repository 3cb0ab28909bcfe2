// MarketPrism live dashboard: the price chart of one symbol, hand-written SVG.
// renderChart(history) draws a /history/{key}/ answer: the 1 s closes, the
// z-score band (view mean ± threshold × std) and the alert markers.
"use strict";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined) continue;
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, String(value));
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function utcTime(ms, withDate) {
  const iso = new Date(ms).toISOString();
  return withDate ? iso.slice(0, 19).replace("T", " ") : iso.slice(11, 19);
}

const W = 760;
const H = 250;
const M = { left: 64, right: 14, top: 14, bottom: 24 };

function niceTicks(low, high, count) {
  // about ``count`` round values in [low, high], and the decimals that print them
  const span = high - low || Math.abs(high) || 1;
  const raw = span / count;
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * power).find((s) => s >= raw) || raw;
  let decimals = 0;
  while (decimals < 10 && Math.abs(step * 10 ** decimals - Math.round(step * 10 ** decimals)) > 1e-6) decimals += 1;
  const ticks = [];
  for (let n = Math.ceil(low / step); n * step <= high + step * 1e-9; n += 1) ticks.push(n * step);
  return { ticks, decimals };
}

function linePath(points, x, y, value) {
  let d = "";
  let open = false;
  for (const p of points) {
    const v = value(p);
    if (v === null || v === undefined) {
      open = false;
      continue;
    }
    d += (open ? "L" : "M") + x(p.t).toFixed(1) + "," + y(v).toFixed(1);
    open = true;
  }
  return d;
}

function bandPath(points, x, y) {
  // one closed polygon per run of buckets that have a band
  let d = "";
  let run = [];
  const flush = () => {
    if (run.length > 1) {
      const top = run.map((p) => x(p.t).toFixed(1) + "," + y(p.upper).toFixed(1));
      const bottom = run.slice().reverse().map((p) => x(p.t).toFixed(1) + "," + y(p.lower).toFixed(1));
      d += "M" + top.join("L") + "L" + bottom.join("L") + "Z";
    }
    run = [];
  };
  for (const p of points) {
    if (p.upper === null || p.lower === null) flush();
    else run.push(p);
  }
  flush();
  return d;
}

function renderChart(history) {
  const points = history.buckets;
  const step = history.bucket_seconds * 1000;
  const t0 = points[0].t;
  const t1 = Math.max(points[points.length - 1].t + step, t0 + step);
  let low = Math.min(...points.map((p) => p.close));
  let high = Math.max(...points.map((p) => p.close));
  const span = high - low || high * 0.001;
  // the band widens the scale, but never to more than the price range again on each side
  for (const p of points) {
    if (p.lower !== null) low = Math.min(low, Math.max(p.lower, low - span));
    if (p.upper !== null) high = Math.max(high, Math.min(p.upper, high + span));
  }
  const pad = (high - low) * 0.06 || high * 0.001;
  low -= pad;
  high += pad;
  const x = (t) => M.left + ((t - t0) / (t1 - t0)) * (W - M.left - M.right);
  const y = (v) => M.top + (1 - (v - low) / (high - low)) * (H - M.top - M.bottom);
  const clipId = "clip-" + history.key.replace(/[^A-Za-z0-9]/g, "-");
  const chart = svg("svg", {
    class: "chart",
    viewBox: `0 0 ${W} ${H}`,
    "data-key": history.key,
    "data-points": points.length,
    role: "img",
    "aria-label": "price of " + history.key,
  });
  chart.append(
    svg("defs", {}, svg("clipPath", { id: clipId }, svg("rect", { x: M.left, y: M.top, width: W - M.left - M.right, height: H - M.top - M.bottom }))),
  );
  const grid = svg("g", {});
  const scale = niceTicks(low, high, 5);
  for (const v of scale.ticks) {
    grid.append(
      svg("line", { class: "grid", x1: M.left, x2: W - M.right, y1: y(v), y2: y(v) }),
      svg("text", { class: "axis", x: M.left - 6, y: y(v) + 4, "text-anchor": "end", text: v.toFixed(scale.decimals) }),
    );
  }
  const minute = 60000;
  const every = (t1 - t0) > 8 * minute ? 2 * minute : minute;
  for (let t = Math.ceil(t0 / every) * every; t <= t1; t += every) {
    grid.append(
      svg("line", { class: "grid", x1: x(t), x2: x(t), y1: M.top, y2: H - M.bottom }),
      svg("text", { class: "axis", x: x(t), y: H - 7, "text-anchor": "middle", text: utcTime(t).slice(0, 5) }),
    );
  }
  chart.append(grid);
  const plot = svg("g", { "clip-path": `url(#${clipId})` });
  plot.append(
    svg("path", { class: "band", d: bandPath(points, x, y) }),
    svg("path", { class: "mean", d: linePath(points, x, y, (p) => p.mean) }),
    svg("path", { class: "price", d: linePath(points, x, y, (p) => p.close) }),
  );
  chart.append(plot);
  for (const alert of history.alerts) {
    if (alert.t < t0 || alert.t > t1) continue;
    const ax = x(alert.t);
    const marker = svg("g", { class: "alert-marker", "data-alert-id": alert.alert_id, "data-status": alert.status });
    const sev = "sev-" + alert.severity;
    marker.append(
      svg("title", { text: `${alert.status} ${alert.severity} ${utcTime(alert.t)} UTC\n${alert.reasons.join("\n")}` }),
      svg("line", { class: sev, x1: ax, x2: ax, y1: M.top, y2: H - M.bottom }),
    );
    if (alert.price) marker.append(svg("circle", { class: sev, cx: ax, cy: y(alert.price), r: 4 }));
    const label = alert.status === "firing" ? "▲ " + alert.severity : alert.status;
    marker.append(svg("text", { class: sev, x: ax + 4, y: M.top + 11, text: label }));
    chart.append(marker);
  }
  chart.append(svg("rect", { class: "frame", x: M.left, y: M.top, width: W - M.left - M.right, height: H - M.top - M.bottom }));
  return chart;
}
