// The staff's chart: incidents reported on each of the last 30 days, stacked by the state
// they are in now, drawn as inline SVG from `GET /staff/stats/daily`.

import { api } from "./api.js";
import { $, el } from "./dom.js";
import { t, word } from "./i18n.js";

const SVG = "http://www.w3.org/2000/svg";
const STATES = ["pendiente", "en_proceso", "resuelto"];
const WIDTH = 900;
const HEIGHT = 110;
let days = [];
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

/** Reads the counts and draws them. */
export async function loadChart() {
  days = (await api("/staff/stats/daily")).dias;
  draw();
}

/** Reads the counts again soon: a burst of changes costs one request. */
export function refreshChartSoon() {
  clearTimeout(timer);
  timer = setTimeout(() => loadChart().catch(() => { /* the next change retries */ }), 500);
}

export function redrawChart() {
  if (days.length) draw();
}
