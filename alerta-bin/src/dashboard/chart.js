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

function draw() {
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT + 20}`, role: "img", class: "chart" });
  const title = svg("title", {});
  title.textContent = t("chart.title");
  chart.appendChild(title);
  const most = Math.max(1, ...days.map((day) => STATES.reduce((sum, s) => sum + (day.por_estado[s] || 0), 0)));
  const step = WIDTH / Math.max(days.length, 1);
  days.forEach((day, index) => {
    let top = HEIGHT;
    const group = svg("g", { "data-fecha": day.fecha });
    const label = svg("title", {});
    label.textContent = `${day.fecha}: ` + STATES.map((s) => `${word("estado", s)} ${day.por_estado[s] || 0}`).join(", ");
    group.appendChild(label);
    for (const estado of STATES) {
      const count = day.por_estado[estado] || 0;
      if (!count) continue;
      const height = (count / most) * (HEIGHT - 10);
      top -= height;
      group.appendChild(svg("rect", {
        x: index * step + 1, y: top, width: Math.max(step - 2, 1), height, class: "bar-" + estado, "data-estado": estado, "data-count": count,
      }));
    }
    chart.appendChild(group);
  });
  chart.appendChild(svg("line", { x1: 0, y1: HEIGHT, x2: WIDTH, y2: HEIGHT, class: "axis" }));
  for (const [index, anchor] of [[0, "start"], [days.length - 1, "end"]]) {
    if (!days[index]) continue;
    const text = svg("text", { x: anchor === "start" ? 0 : WIDTH, y: HEIGHT + 16, "text-anchor": anchor });
    text.textContent = days[index].fecha;
    chart.appendChild(text);
  }
  const legend = el("ul", null, "legend");
  for (const estado of STATES) {
    const item = el("li");
    item.append(el("span", null, "swatch bar-" + estado), document.createTextNode(" " + word("estado", estado)));
    legend.appendChild(item);
  }
  $("chart").replaceChildren(chart, legend);
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
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT + 20}`, role: "img", class: "chart alerts" });
  const title = svg("title", {});
  title.textContent = t("chart.alerts");
  chart.appendChild(title);
  const most = Math.max(1, ...hours.map((hour) => SEVERITIES.reduce((sum, s) => sum + (hour.por_severidad[s] || 0), 0)));
  const step = WIDTH / Math.max(hours.length, 1);
  hours.forEach((hour, index) => {
    let top = HEIGHT;
    const group = svg("g", { "data-hora": hour.hora });
    const label = svg("title", {});
    const at = new Date(hour.hora).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    label.textContent = `${at}: ` + SEVERITIES.map((s) => `${word("severity", s)} ${hour.por_severidad[s] || 0}`).join(", ");
    group.appendChild(label);
    for (const severity of SEVERITIES) {
      const count = hour.por_severidad[severity] || 0;
      if (!count) continue;
      const height = (count / most) * (HEIGHT - 10);
      top -= height;
      group.appendChild(svg("rect", {
        x: index * step + 1, y: top, width: Math.max(step - 2, 1), height, class: "sev-bar-" + severity, "data-severity": severity, "data-count": count,
      }));
    }
    chart.appendChild(group);
  });
  chart.appendChild(svg("line", { x1: 0, y1: HEIGHT, x2: WIDTH, y2: HEIGHT, class: "axis" }));
  for (const [index, anchor] of [[0, "start"], [hours.length - 1, "end"]]) {
    if (!hours[index]) continue;
    const text = svg("text", { x: anchor === "start" ? 0 : WIDTH, y: HEIGHT + 16, "text-anchor": anchor });
    text.textContent = new Date(hours[index].hora).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    chart.appendChild(text);
  }
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
