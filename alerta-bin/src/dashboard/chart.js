// The staff's charts, drawn as inline SVG from `GET /staff/stats/daily`: incidents reported
// on each of the last 30 days stacked by the state they are in now, the mean and 90th
// percentile resolution time per department, and alerts per hour by severity.

import { api } from "./api.js";
import { $, el } from "./dom.js";
import { t, word } from "./i18n.js";

const SVG = "http://www.w3.org/2000/svg";
const STATES = ["pendiente", "en_proceso", "resuelto"];
const WIDTH = 900;
const HEIGHT = 110;
let days = [];
let resolution = [];
let hours = [];
let timer = null;

function svg(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

/**
 * One column of stacked bars a period, oldest first, with a line under them and the first and
 * last period named below it. `counts(column)` maps each of `keys` to a count; each bar has the
 * class `barClass + key` and says its key in the attribute `keyAttribute`.
 */
function stackedBars({ titleKey, className, columns, keys, counts, name, period, data, barClass, keyAttribute }) {
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT + 20}`, role: "img", class: className });
  const title = svg("title", {});
  title.textContent = t(titleKey);
  chart.appendChild(title);
  const most = Math.max(1, ...columns.map((column) => keys.reduce((sum, k) => sum + (counts(column)[k] || 0), 0)));
  const step = WIDTH / Math.max(columns.length, 1);
  columns.forEach((column, index) => {
    let top = HEIGHT;
    const group = svg("g", data(column));
    const label = svg("title", {});
    label.textContent = `${period(column)}: ` + keys.map((k) => `${name(k)} ${counts(column)[k] || 0}`).join(", ");
    group.appendChild(label);
    for (const key of keys) {
      const count = counts(column)[key] || 0;
      if (!count) continue;
      const height = (count / most) * (HEIGHT - 10);
      top -= height;
      group.appendChild(svg("rect", {
        x: index * step + 1, y: top, width: Math.max(step - 2, 1), height, class: barClass + key, [keyAttribute]: key, "data-count": count,
      }));
    }
    chart.appendChild(group);
  });
  chart.appendChild(svg("line", { x1: 0, y1: HEIGHT, x2: WIDTH, y2: HEIGHT, class: "axis" }));
  for (const [index, anchor] of [[0, "start"], [columns.length - 1, "end"]]) {
    if (!columns[index]) continue;
    const text = svg("text", { x: anchor === "start" ? 0 : WIDTH, y: HEIGHT + 16, "text-anchor": anchor });
    text.textContent = period(columns[index]);
    chart.appendChild(text);
  }
  return chart;
}

/** Incidents per day, stacked by the state they are in now. */
function draw() {
  const chart = stackedBars({
    titleKey: "chart.title", className: "chart", columns: days, keys: STATES,
    counts: (day) => day.por_estado, name: (estado) => word("estado", estado), period: (day) => day.fecha,
    data: (day) => ({ "data-fecha": day.fecha }), barClass: "bar-", keyAttribute: "data-estado",
  });
  $("chart").replaceChildren(chart, legendOf(STATES.map((estado) => ["bar-" + estado, word("estado", estado)])));
}

const SEVERITIES = ["info", "warning", "error", "critical"];

/** A duration in seconds, short: minutes under an hour, hours with one decimal above. */
function duration(seconds) {
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function legendOf(entries) {
  const legend = el("ul", null, "legend");
  for (const [className, label] of entries) {
    const item = el("li");
    item.append(el("span", null, "swatch " + className), document.createTextNode(" " + label));
    legend.appendChild(item);
  }
  return legend;
}

/** Mean and 90th percentile per department, as pairs of horizontal bars. */
function drawResolution() {
  const box = $("chart-resolution");
  if (!resolution.length) {
    box.replaceChildren(el("p", t("chart.noResolution"), "hint"));
    return;
  }
  const ROW = 34;
  const LABEL = 180;
  const height = resolution.length * ROW + 4;
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${height}`, role: "img", class: "chart resolution" });
  const title = svg("title", {});
  title.textContent = t("chart.resolution");
  chart.appendChild(title);
  const most = Math.max(1, ...resolution.map((r) => r.p90_s));
  const room = WIDTH - LABEL - 90;
  resolution.forEach((row, index) => {
    const top = index * ROW + 2;
    const group = svg("g", { "data-departamento": row.departamento, "data-media": row.media_s, "data-p90": row.p90_s });
    const label = svg("title", {});
    label.textContent = `${row.departamento}: ${t("chart.mean")} ${duration(row.media_s)}, ${t("chart.p90")} ${duration(row.p90_s)}, ${t("chart.resolved", { n: row.resueltos })}`;
    group.appendChild(label);
    const name = svg("text", { x: 0, y: top + 20 });
    name.textContent = row.departamento;
    group.appendChild(name);
    for (const [offset, value, className] of [[0, row.media_s, "bar-mean"], [14, row.p90_s, "bar-p90"]]) {
      const width = Math.max((value / most) * room, 1);
      group.appendChild(svg("rect", { x: LABEL, y: top + offset, width, height: 12, class: className }));
      const text = svg("text", { x: LABEL + width + 4, y: top + offset + 10 });
      text.textContent = duration(value);
      group.appendChild(text);
    }
    chart.appendChild(group);
  });
  box.replaceChildren(chart, legendOf([["bar-mean", t("chart.mean")], ["bar-p90", t("chart.p90")]]));
}

/** Alerts per hour, stacked by severity. */
function drawAlerts() {
  const chart = stackedBars({
    titleKey: "chart.alerts", className: "chart alerts", columns: hours, keys: SEVERITIES,
    counts: (hour) => hour.por_severidad, name: (severity) => word("severity", severity),
    period: (hour) => new Date(hour.hora).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }),
    data: (hour) => ({ "data-hora": hour.hora }), barClass: "sev-bar-", keyAttribute: "data-severity",
  });
  $("chart-alerts").replaceChildren(chart, legendOf(SEVERITIES.map((s) => ["sev-bar-" + s, word("severity", s)])));
}

/** Reads the counts and draws them. */
export async function loadChart() {
  const stats = await api("/staff/stats/daily");
  days = stats.dias;
  resolution = stats.resolucion || [];
  hours = stats.alertas_por_hora || [];
  draw();
  drawResolution();
  drawAlerts();
}

/** Reads the counts again soon: a burst of changes costs one request. */
export function refreshChartSoon() {
  clearTimeout(timer);
  timer = setTimeout(() => loadChart().catch(() => { /* the next change retries */ }), 500);
}

export function redrawChart() {
  if (days.length) { draw(); drawResolution(); drawAlerts(); }
}
