// The staff's alerts: one row per alert group, filtered and paged by the server, acted on from
// the row (acknowledge, resolve, open an incident) and kept current by the stream without a
// reload; and an alert's page with its history and occurrences.

import { api, query } from "./api.js";
import { $, el, option, when } from "./dom.js";
import { t, word } from "./i18n.js";

const PAGE = 20;
/** Rows kept while new alerts keep arriving on the first page. */
const MOST_ROWS = 200;
const STATUSES = ["firing", "acknowledged", "resolved"];
const SEVERITIES = ["info", "warning", "error", "critical"];

const table = { filters: {}, cursor: null, next: null, reads: 0 };
/**
 * The incident opened from each alert shown, by alert id: the list and a read by id carry it,
 * stream messages about an alert do not (`incident.created` says when one is opened).
 */
const incidents = new Map();
/** The alert on the alert page, as read (its `version` is the one a change sends). */
let shown = null;
let occurrencesNext = null;
let showIncident = () => {};

const path = (id, rest = "") => `/events/${encodeURIComponent(id)}${rest}`;

function readFilters() {
  return {
    status: $("alert-filter-status").value, severity: $("alert-filter-severity").value,
    source: $("alert-filter-source").value.trim(), q: $("alert-filter-q").value.trim(),
    silenced: $("alert-filter-silenced").value,
  };
}

function matchesFilters(alert) {
  const f = table.filters;
  if (f.status && alert.status !== f.status) return false;
  if (f.severity && alert.severity !== f.severity) return false;
  if (f.source && alert.source !== f.source) return false;
  if (f.silenced && String(Boolean(alert.silenced)) !== f.silenced) return false;
  if (f.q) {
    const q = f.q.toLowerCase();
    if (!alert.source.toLowerCase().includes(q) && !alert.message.toLowerCase().includes(q)) return false;
  }
  return true;
}

function statusBadge(status) {
  const badge = el("span", word("alertStatus", status), "alert-status status-" + status);
  badge.dataset.status = status;
  return badge;
}

function actionButton(text, label, className, onClick) {
  const button = el("button", text, className);
  button.type = "button";
  button.setAttribute("aria-label", label);
  button.addEventListener("click", onClick);
  return button;
}

/** The buttons of an alert: what its status allows, and its incident or a way to open one. */
function actions(alert, { onAck, onResolve, onOpenIncident }) {
  const name = { source: alert.source };
  const buttons = [];
  if (alert.status === "firing") buttons.push(actionButton(t("alerts.ack"), t("alerts.ackOf", name), "ack", onAck));
  if (alert.status !== "resolved") {
    buttons.push(actionButton(t("alerts.resolve"), t("alerts.resolveOf", name), "resolve", onResolve));
  }
  const incidentId = incidents.get(alert.id);
  if (incidentId) {
    buttons.push(actionButton(t("alerts.incident"), t("alerts.incidentOf", name), "link incident-link",
      () => showIncident(incidentId)));
  } else {
    buttons.push(actionButton(t("alerts.openIncident"), t("alerts.openIncidentOf", name), "open-incident", onOpenIncident));
  }
  return buttons;
}

function alertRow(alert, streamId) {
  const row = el("tr", null, "sev-" + alert.severity);
  row.dataset.id = alert.id;
  row.dataset.version = alert.version;
  row.dataset.status = alert.status;
  row.dataset.count = alert.count;
  if (streamId) row.dataset.stream = streamId;
  row.alert = alert;
  const cells = [
    [statusBadge(alert.status), "status"], [word("severity", alert.severity), "severity"],
    [alert.source, "source"], [alert.message, "message"], [alert.count, "count"],
    [when(alert.first_seen), "first-seen"], [when(alert.last_seen), "last-seen"],
    [alert.silenced ? t("alerts.yes") : "—", "silenced"],
  ];
  for (const [value, className] of cells) {
    const cell = el("td", null, className);
    if (value instanceof Node) cell.appendChild(value); else cell.textContent = value;
    row.appendChild(cell);
  }
  row.querySelector(".first-seen").dataset.at = alert.first_seen;
  row.querySelector(".last-seen").dataset.at = alert.last_seen;
  const cell = el("td", null, "actions");
  const buttons = el("div", null, "row-actions");
  cell.appendChild(buttons);
  if (alert.status !== "resolved") buttons.appendChild(noteField(alert));
  buttons.append(...actions(alert, {
    onAck: () => act(alert, "ack"),
    onResolve: () => act(alert, "resolve"),
    onOpenIncident: () => openIncidentFrom(alert),
  }));
  buttons.appendChild(actionButton(t("alerts.details"), t("alerts.detailsOf", { source: alert.source }), "details",
    () => openAlert(alert.id).catch((error) => tableNotice(error.message, "error"))));
  row.appendChild(cell);
  return row;
}

/**
 * A row's optional note, sent with its acknowledgement or resolution: typed in the row, so
 * Enter in it acknowledges a firing alert (resolves an acknowledged one) as the buttons do.
 */
function noteField(alert) {
  const field = el("input", null, "row-nota");
  field.type = "text";
  field.maxLength = 2000;
  field.placeholder = t("alerts.rowNote");
  field.setAttribute("aria-label", t("alerts.rowNoteOf", { source: alert.source }));
  field.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    act(alert, alert.status === "firing" ? "ack" : "resolve");
  });
  return field;
}

/**
 * Draws a row anew; a keyboard user keeps their place: focus moves to the same control, and
 * a note being typed in the row stays.
 */
function replaceRow(row, alert, streamId) {
  const focused = row.contains(document.activeElement) ? document.activeElement.className : null;
  const note = row.querySelector("input.row-nota")?.value || "";
  const next = alertRow(alert, streamId);
  row.replaceWith(next);
  const field = next.querySelector("input.row-nota");
  if (field) field.value = note;
  if (focused === null) return;
  const controls = Array.from(next.querySelectorAll("button, input"));
  (controls.find((control) => control.className === focused) || next.querySelector("button.details")).focus();
}

const rowOf = (id) => $("alerts-body").querySelector(`tr[data-id="${CSS.escape(id)}"]`);

/** Draws `alert` over its row, unless the row already shows a later version. */
function updateRow(alert, { force = false } = {}) {
  const row = rowOf(alert.id);
  if (!row || (!force && Number(row.dataset.version) > alert.version)) return;
  replaceRow(row, alert, row.dataset.stream);
}

function tableNotice(text, kind = "info") {
  const box = $("alerts-notice");
  box.textContent = text;
  box.className = "notice " + kind;
  box.hidden = !text;
}

function alertNotice(text, kind = "info") {
  const box = $("alert-notice");
  box.textContent = text;
  box.className = "notice " + kind;
  box.hidden = !text;
}

/** Why a change was refused with 409, in the page's words. */
function conflict(error) {
  if (error.code === "stale_version") return t("alerts.stale");
  if (error.code === "already_linked") return t("alerts.alreadyLinked");
  return t("alerts.invalidTransition");
}

/** Reads one alert again (with its incident) and draws it wherever it is shown. */
async function reload(id) {
  const alert = await api(path(id));
  if (alert.incident_id) incidents.set(alert.id, alert.incident_id);
  updateRow(alert, { force: true });
  if (shown && shown.id === id) await openAlert(id);
  return alert;
}

/**
 * Acknowledges or resolves `alert` with the version the page read; a 409 reloads it and says
 * why, nothing is retried on its own. `say` shows the outcome where the user acted.
 */
async function change(alert, action, nota, say) {
  const body = { version: alert.version };
  if (nota) body.nota = nota;
  try {
    const changed = await api(path(alert.id, "/" + action), { method: "POST", body });
    updateRow(changed);
    say(t(action === "ack" ? "alerts.acked" : "alerts.wasResolved", { source: alert.source }));
    return true;
  } catch (error) {
    if (error.status === 409) {
      await reload(alert.id);
      say(conflict(error), "error");
    } else {
      say(error.message, "error");
    }
    return false;
  }
}

/** A row's button: one change at a time per row, so that a double click sends one request. */
async function act(alert, action) {
  const row = rowOf(alert.id);
  if (!row || row.getAttribute("aria-busy") === "true") return;
  row.setAttribute("aria-busy", "true");
  tableNotice("");
  const nota = row.querySelector("input.row-nota")?.value.trim() || null;
  try {
    // A refused change draws the row again with the note kept, so that it can be sent again.
    if (await change(alert, action, nota, tableNotice)) {
      const field = rowOf(alert.id)?.querySelector("input.row-nota");
      if (field) field.value = "";
    }
  } finally {
    row.removeAttribute("aria-busy"); // a row drawn anew in the meantime was never busy
  }
}

async function openIncidentFrom(alert, say = tableNotice) {
  say("");
  try {
    const incident = await api(path(alert.id, "/incident"), { method: "POST" });
    incidents.set(alert.id, incident.incident_id);
    await reload(alert.id);
    say(t("alerts.incidentOpened", { source: alert.source }));
  } catch (error) {
    if (error.status === 409) {
      await reload(alert.id);
      say(conflict(error), "error");
    } else {
      say(error.message, "error");
    }
  }
}

/** Loads a page of alerts; resolves to the stream id the list reflects. */
export async function loadAlerts(cursor = null) {
  table.filters = readFilters();
  table.cursor = cursor;
  const read = ++table.reads;
  const reply = await api("/events" + query({ ...table.filters, limit: PAGE, cursor }));
  for (const alert of reply.items) if (alert.incident_id) incidents.set(alert.id, alert.incident_id);
  // Only the latest read draws: an older one answering late must not overwrite it.
  if (read !== table.reads) return reply.stream;
  $("alerts-body").replaceChildren(...reply.items.map((alert) => alertRow(alert)));
  table.next = reply.next_cursor;
  $("alerts-next").disabled = !table.next;
  $("alerts-first").disabled = !cursor;
  $("alerts-empty").hidden = reply.items.length > 0;
  return reply.stream;
}

/** A new alert belongs at the top of the first page when it is newer than every row there. */
function addAlert(alert, streamId) {
  const body = $("alerts-body");
  const first = body.firstElementChild;
  if (table.cursor || !matchesFilters(alert) || (first && first.dataset.id >= alert.id)) return;
  body.prepend(alertRow(alert, streamId));
  while (body.children.length > MOST_ROWS) body.lastElementChild.remove();
  $("alerts-empty").hidden = true;
}

/** A stream message about alerts (and incidents opened from them). */
export function alertMessage(message) {
  let alert = null;
  if (message.type === "alert" || message.type === "alert.repeated") alert = message.data;
  else if (message.type === "alert.acknowledged" || message.type === "alert.resolved") alert = message.data.alert;
  else if (message.type === "incident.created" && message.data.incident.alert_id) {
    const { incident } = message.data;
    if (incidents.get(incident.alert_id) === incident.incident_id) return;
    incidents.set(incident.alert_id, incident.incident_id);
    const row = rowOf(incident.alert_id);
    if (row) replaceRow(row, row.alert, row.dataset.stream);
    if (shown && shown.id === incident.alert_id) {
      $("alert-open-incident").hidden = true;
      $("alert-incident").hidden = false;
      $("alert-incident").dataset.incident = incident.incident_id;
    }
    return;
  }
  if (!alert) return;
  const row = rowOf(alert.id);
  if (row) {
    if (Number(row.dataset.version) < alert.version) replaceRow(row, alert, message.id);
  } else if (message.type === "alert") {
    addAlert(alert, message.id);
  }
  if (shown && shown.id === alert.id && alert.version > shown.version) $("alert-changed").hidden = false;
}

function describeChange(entry) {
  const move = t("alertHistory.move", { from: word("alertStatus", entry.from), to: word("alertStatus", entry.to) });
  const who = entry.actor === "ingest" ? t("alertHistory.ingest") : "";
  return [move, who, entry.nota ? `(${entry.nota})` : ""].filter(Boolean).join(" ");
}

function occurrenceItem(entry) {
  const item = el("li");
  item.dataset.count = entry.count;
  item.append(el("time", when(entry.at)), " ", el("span", t("alertOccurrences.count", { n: entry.count })));
  return item;
}

async function loadOccurrences(id, cursor) {
  const reply = await api(path(id, "/occurrences") + query({ limit: PAGE, cursor }));
  const list = $("alert-occurrences");
  if (!cursor) list.replaceChildren();
  list.append(...reply.items.map(occurrenceItem));
  occurrencesNext = reply.next_cursor;
  $("alert-occurrences-more").hidden = !occurrencesNext;
}

function renderAlert(alert, history) {
  shown = alert;
  $("alert-title").textContent = `${alert.source}: ${alert.message}`;
  const facts = $("alert-facts");
  facts.replaceChildren();
  const rows = [
    ["alerts.status", word("alertStatus", alert.status)], ["alerts.severity", word("severity", alert.severity)],
    ["alerts.source", alert.source], ["alerts.channel", alert.channel], ["alerts.count", alert.count],
    ["alerts.firstSeen", when(alert.first_seen)], ["alerts.lastSeen", when(alert.last_seen)],
    ["alerts.silenced", alert.silenced ? t("alerts.yes") : t("alerts.no")], ["alerts.fingerprint", alert.fingerprint],
  ];
  for (const [label, value] of rows) facts.append(el("dt", t(label)), el("dd", value));
  const view = $("alert-view");
  view.dataset.id = alert.id;
  view.dataset.status = alert.status;
  view.dataset.version = alert.version;
  view.dataset.count = alert.count;
  $("alert-ack").hidden = alert.status !== "firing";
  $("alert-resolve").hidden = alert.status === "resolved";
  $("alert-change").hidden = alert.status === "resolved";
  const incidentId = alert.incident_id || incidents.get(alert.id);
  $("alert-open-incident").hidden = Boolean(incidentId);
  $("alert-incident").hidden = !incidentId;
  $("alert-incident").dataset.incident = incidentId || "";
  const list = $("alert-history");
  list.replaceChildren();
  for (const entry of history) {
    const item = el("li");
    item.dataset.to = entry.to;
    item.append(el("time", when(entry.created_at)), " ", el("span", describeChange(entry)));
    list.appendChild(item);
  }
  $("alert-history-empty").hidden = history.length > 0;
  $("alert-changed").hidden = true;
}

/** Shows an alert's page: what it says, its history and when its occurrences arrived. */
export async function openAlert(id) {
  const [alert, history] = await Promise.all([api(path(id)), api(path(id, "/history"))]);
  if (alert.incident_id) incidents.set(alert.id, alert.incident_id);
  renderAlert(alert, history.items);
  await loadOccurrences(id, null);
  $("alerts-view").hidden = true;
  $("alert-view").hidden = false;
  $("alert-title").focus();
}

function closeAlert() {
  shown = null;
  alertNotice("");
  $("alert-view").hidden = true;
  $("alerts-view").hidden = false;
}

let changing = false;

async function changeShown(action) {
  if (changing) return; // a double click sends one request
  changing = true;
  alertNotice("");
  const nota = $("alert-nota").value.trim();
  const id = shown.id;
  try {
    // A refused change reloads the page and keeps the note, so that it can be sent again.
    if (await change(shown, action, nota, alertNotice)) {
      $("alert-nota").value = "";
      await openAlert(id);
    }
  } finally {
    changing = false;
  }
}

/** What a `reset` asks, and a language switch: draw what is shown again. */
export async function reloadAlerts() {
  const stream = await loadAlerts(table.cursor);
  if (shown) await openAlert(shown.id);
  return stream;
}

/** Empties what a logged-out page must not keep. */
export function clearAlerts() {
  shown = null;
  incidents.clear();
  $("alerts-body").replaceChildren();
  $("alert-view").hidden = true;
  $("alerts-view").hidden = false;
  tableNotice("");
}

function fillFilters() {
  const fill = (select, kind, values) => {
    const chosen = select.value;
    select.replaceChildren(option("", t("board.any")), ...values.map((value) => option(value, word(kind, value))));
    select.value = chosen;
  };
  fill($("alert-filter-status"), "alertStatus", STATUSES);
  fill($("alert-filter-severity"), "severity", SEVERITIES);
  const silenced = $("alert-filter-silenced");
  const chosen = silenced.value;
  silenced.replaceChildren(option("", t("board.any")), option("true", t("alerts.yes")), option("false", t("alerts.no")));
  silenced.value = chosen;
}

/** After a language switch. */
export function redrawAlerts() {
  fillFilters();
}

/** Wires the alerts' controls; `openIncident` shows an incident's page. */
export function setUpAlerts({ openIncident }) {
  showIncident = (id) => openIncident(id).catch((error) => tableNotice(error.message, "error"));
  fillFilters();
  const report = (error) => tableNotice(error.message, "error");
  $("alert-filters").addEventListener("submit", (event) => { event.preventDefault(); loadAlerts(null).catch(report); });
  $("alerts-next").addEventListener("click", () => loadAlerts(table.next).catch(report));
  $("alerts-first").addEventListener("click", () => loadAlerts(null).catch(report));
  $("alert-back").addEventListener("click", closeAlert);
  $("alert-reload").addEventListener("click", () => openAlert(shown.id).catch((e) => alertNotice(e.message, "error")));
  $("alert-ack").addEventListener("click", () => changeShown("ack"));
  $("alert-resolve").addEventListener("click", () => changeShown("resolve"));
  $("alert-open-incident").addEventListener("click", () => openIncidentFrom(shown, alertNotice));
  $("alert-incident").addEventListener("click", () => showIncident($("alert-incident").dataset.incident));
  $("alert-occurrences-more").addEventListener("click", () => {
    loadOccurrences(shown.id, occurrencesNext).catch((e) => alertNotice(e.message, "error"));
  });
}
