// The live dashboard. Every value from the server is put on the page with textContent or
// createElement, never as HTML, so nothing a user typed can run here.
"use strict";

const state = {
  token: sessionStorage.getItem("alerta.token"),
  user: null,
  lastStreamId: null,
  socket: null,
  retryMs: 500,
  severity: {},
  incidents: new Map(),
  statsTimer: null,
};

const $ = (id) => document.getElementById(id);

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

async function api(path, options = {}) {
  const headers = Object.assign({ "content-type": "application/json" }, options.headers || {});
  if (state.token) headers.authorization = "Bearer " + state.token;
  const reply = await fetch(path, Object.assign({}, options, { headers }));
  const body = reply.status === 204 ? null : await reply.json().catch(() => null);
  if (!reply.ok) {
    const message = body && body.error ? body.error.message : reply.statusText;
    const error = new Error(message);
    error.status = reply.status;
    throw error;
  }
  return body;
}

function setBadge(kind, text) {
  const badge = $("badge");
  badge.className = "badge " + kind;
  badge.dataset.state = kind;
  badge.textContent = text;
}

function toast(text) {
  const node = el("div", text, "toast");
  $("toasts").appendChild(node);
  setTimeout(() => node.remove(), 5000);
}

function matchesSearch(text) {
  const q = $("search").value.trim().toLowerCase();
  return q === "" || text.toLowerCase().includes(q);
}

function applySearch() {
  for (const row of document.querySelectorAll("[data-search]")) {
    row.classList.toggle("hidden-by-search", !matchesSearch(row.dataset.search));
  }
}

function renderKpis(list, counts) {
  const target = $(list);
  target.replaceChildren();
  for (const [name, count] of Object.entries(counts)) {
    const item = el("li");
    item.dataset.kpi = name;
    item.append(el("strong", name), document.createTextNode(" "), el("span", count));
    target.appendChild(item);
  }
}

function alertRow(alert, streamId) {
  const row = el("tr", null, "sev-" + alert.severity);
  row.dataset.id = alert.id;
  if (streamId) row.dataset.stream = streamId;
  row.dataset.search = [alert.source, alert.severity, alert.channel, alert.message].join(" ");
  const time = new Date(alert.created_at).toLocaleTimeString();
  for (const value of [time, alert.severity, alert.source, alert.channel, alert.message]) {
    row.appendChild(el("td", value));
  }
  row.classList.toggle("hidden-by-search", !matchesSearch(row.dataset.search));
  return row;
}

function addAlert(alert, live, streamId) {
  const body = $("alerts-body");
  if (body.querySelector(`tr[data-id="${CSS.escape(alert.id)}"]`)) return;
  body.prepend(alertRow(alert, streamId));
  while (body.children.length > 500) body.lastElementChild.remove();
  if (live) {
    state.severity[alert.severity] = (state.severity[alert.severity] || 0) + 1;
    renderKpis("kpi-severity", state.severity);
    toast(`${alert.severity.toUpperCase()} ${alert.source}: ${alert.message}`);
  }
}

function incidentCard(incident) {
  const card = el("li");
  card.dataset.id = incident.incident_id;
  card.dataset.search = [incident.tipo, incident.descripcion, incident.ubicacion, incident.urgencia, incident.departamento || ""].join(" ");
  card.append(
    el("strong", `${incident.tipo} · ${incident.urgencia}`),
    el("div", incident.descripcion),
    el("small", `${incident.ubicacion}${incident.departamento ? " · " + incident.departamento : ""}`),
  );
  card.classList.toggle("hidden-by-search", !matchesSearch(card.dataset.search));
  return card;
}

// Returns whether the incident was new to the page.
function upsertIncident(incident) {
  const old = state.incidents.get(incident.incident_id);
  if (old && old.version > incident.version) return false;
  state.incidents.set(incident.incident_id, incident);
  const existing = document.querySelector(`.board li[data-id="${CSS.escape(incident.incident_id)}"]`);
  if (existing) existing.remove();
  const column = $("col-" + incident.estado);
  if (column) column.prepend(incidentCard(incident));
  return !old;
}

function refreshStatsSoon() {
  clearTimeout(state.statsTimer);
  state.statsTimer = setTimeout(async () => {
    try {
      const stats = await api("/stats");
      renderKpis("kpi-status", stats.por_estado);
    } catch (_) { /* the next message retries */ }
  }, 300);
}

function onMessage(event) {
  let message;
  try { message = JSON.parse(event.data); } catch (_) { return; }
  state.lastStreamId = message.id;
  if (message.type === "reset") {
    // What the page missed is no longer in the stream: read the lists again. The stream
    // goes on from the head the reset names.
    loadLists().catch(() => { /* the next reset or reload retries */ });
  } else if (message.type === "alert") {
    addAlert(message.data, true, message.id);
  } else if (message.type && message.type.startsWith("incident.")) {
    const isNew = upsertIncident(message.data.incident);
    refreshStatsSoon();
    if (message.type === "incident.created" && isNew) toast(`Nuevo incidente: ${message.data.incident.descripcion}`);
  }
}

function connect() {
  if (!state.token) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const params = new URLSearchParams({ token: state.token });
  if (state.lastStreamId) params.set("since", state.lastStreamId);
  setBadge("connecting", "conectando…");
  const socket = new WebSocket(`${scheme}://${location.host}/ws?${params}`);
  let opened = false;
  state.socket = socket;
  socket.onopen = () => { opened = true; state.retryMs = 500; setBadge("online", "en vivo"); };
  socket.onmessage = onMessage;
  socket.onclose = async () => {
    if (state.socket !== socket) return;
    state.socket = null;
    if (!state.token) { setBadge("offline", "desconectado"); return; }
    setBadge("connecting", "reconectando…");
    if (!opened && !(await sessionStillValid())) return;
    const wait = state.retryMs;
    state.retryMs = Math.min(state.retryMs * 2, 5000);
    setTimeout(connect, wait);
  };
}

// A refused handshake says nothing about why; ask whether the login itself ended.
async function sessionStillValid() {
  try {
    await api("/auth/me");
    return true;
  } catch (error) {
    if (error.status !== 401) return true;
    state.token = null;
    sessionStorage.removeItem("alerta.token");
    showLogin();
    return false;
  }
}

// Reads the lists and counts. Each list says the stream id it reflects: subscribing from
// there misses nothing that happens after it was read, and what arrives twice is recognised
// by its id or version.
async function loadLists() {
  const [alerts, incidents, alertStats, stats] = await Promise.all([
    api("/events?limit=200"), api("/incidents?limit=200"), api("/events/stats"), api("/stats"),
  ]);
  $("alerts-body").replaceChildren();
  for (const alert of alerts.items.slice().reverse()) addAlert(alert, false);
  for (const incident of incidents.items.slice().reverse()) upsertIncident(incident);
  state.severity = alertStats.by_severity;
  renderKpis("kpi-severity", state.severity);
  renderKpis("kpi-status", stats.por_estado);
  return olderStreamId(alerts.stream, incidents.stream);
}

// Stream ids are `epoch:position`, compared as numbers, never as text.
function olderStreamId(a, b) {
  const position = (id) => Number(id.split(":")[1]);
  return position(a) <= position(b) ? a : b;
}

async function loadInitial() {
  const stream = await loadLists();
  if (!state.lastStreamId) state.lastStreamId = stream;
}

async function start() {
  try {
    state.user = (await api("/auth/me")).user;
  } catch (_) {
    state.token = null;
    sessionStorage.removeItem("alerta.token");
    return showLogin();
  }
  $("who").textContent = `${state.user.nombre} (${state.user.rol})`;
  $("login-view").hidden = true;
  $("app-view").hidden = false;
  $("logout").hidden = false;
  await loadInitial();
  connect();
}

function showLogin() {
  $("login-view").hidden = false;
  $("app-view").hidden = true;
  $("logout").hidden = true;
  $("who").textContent = "";
  setBadge("offline", "desconectado");
}

document.addEventListener("DOMContentLoaded", () => {
  $("search").addEventListener("input", applySearch);
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("login-error").textContent = "";
    try {
      const login = await api("/auth/login", {
        method: "POST",
        body: JSON.stringify({ email: $("login-email").value, password: $("login-password").value }),
      });
      state.token = login.token;
      sessionStorage.setItem("alerta.token", login.token);
      await start();
    } catch (error) {
      $("login-error").textContent = error.message;
    }
  });
  $("logout").addEventListener("click", async () => {
    try { await api("/auth/logout", { method: "POST" }); } catch (_) { /* gone either way */ }
    state.token = null;
    sessionStorage.removeItem("alerta.token");
    const socket = state.socket;
    state.socket = null;
    if (socket) socket.close();
    showLogin();
  });
  if (state.token) start(); else showLogin();
});
