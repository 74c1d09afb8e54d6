// The staff's screens: the triage board (filters and cursor paging done by the server) and the
// incident page (history, attachments, deliveries, status changes, comments, department
// assignment for admins). The alerts are in alerts.js.

import { api, attachmentBlob, query, session } from "./api.js";
import { $, el, option, toast, when } from "./dom.js";
import { t, word } from "./i18n.js";
import { TYPES, URGENCIES, describeEvent, fillSelect } from "./student.js";
import { loadChart, redrawChart, refreshChartSoon } from "./chart.js";
import { alertMessage, clearAlerts, redrawAlerts, reloadAlerts, setUpAlerts } from "./alerts.js";

export { loadAlerts } from "./alerts.js";

const STATES = ["pendiente", "en_proceso", "resuelto"];
/** The lifecycle's allowed moves (docs/API.md). */
const MOVES = { pendiente: ["en_proceso", "resuelto"], en_proceso: ["resuelto"], resuelto: ["en_proceso"] };
const PAGE = 20;

const board = { filters: {}, cursor: null, next: null, departments: [] };
let open = null; // the incident shown on the incident page
const objectUrls = [];

function readFilters() {
  return {
    estado: $("filter-estado").value, tipo: $("filter-tipo").value, urgencia: $("filter-urgencia").value,
    departamento: $("filter-departamento").value, q: $("filter-q").value.trim(),
  };
}

function matchesFilters(incident) {
  const f = board.filters;
  if (f.estado && incident.estado !== f.estado) return false;
  if (f.tipo && incident.tipo !== f.tipo) return false;
  if (f.urgencia && incident.urgencia !== f.urgencia) return false;
  if (f.departamento && incident.departamento !== f.departamento) return false;
  if (f.q) {
    const text = [incident.descripcion, incident.ubicacion, incident.tipo].join(" ").toLowerCase();
    if (!text.includes(f.q.toLowerCase())) return false;
  }
  return true;
}

function boardRow(incident) {
  const row = el("tr");
  row.dataset.id = incident.incident_id;
  row.dataset.version = incident.version;
  const estado = el("span", word("estado", incident.estado), "estado estado-" + incident.estado);
  estado.dataset.estado = incident.estado;
  const cells = [
    when(incident.created_at), word("tipo", incident.tipo), word("urgencia", incident.urgencia), estado,
    incident.departamento || "—", incident.descripcion, incident.ubicacion,
  ];
  for (const value of cells) {
    const cell = el("td");
    if (value instanceof Node) cell.appendChild(value); else cell.textContent = value;
    row.appendChild(cell);
  }
  const openCell = el("td");
  const button = el("button", t("board.open"), "open");
  button.type = "button";
  button.addEventListener("click", () => openIncident(incident.incident_id));
  openCell.appendChild(button);
  row.appendChild(openCell);
  return row;
}

/** Loads a page of the board; resolves to the stream id the list reflects. */
export async function loadBoard(cursor = null) {
  board.filters = readFilters();
  board.cursor = cursor;
  const reply = await api("/incidents" + query({ ...board.filters, limit: PAGE, cursor }));
  $("board-body").replaceChildren(...reply.items.map(boardRow));
  board.next = reply.next_cursor;
  $("board-next").disabled = !board.next;
  $("board-first").disabled = !cursor;
  $("board-empty").hidden = reply.items.length > 0;
  return reply.stream;
}

function notice(text, kind = "info") {
  const box = $("incident-notice");
  box.textContent = text;
  box.className = "notice " + kind;
  box.hidden = !text;
}

async function renderAttachments(incidentId) {
  for (const url of objectUrls.splice(0)) URL.revokeObjectURL(url);
  const reply = await api(`/incidents/${encodeURIComponent(incidentId)}/attachments`);
  const list = $("attachments-list");
  list.replaceChildren();
  $("attachments-empty").hidden = reply.items.length > 0;
  for (const attachment of reply.items) {
    const item = el("li");
    item.dataset.id = attachment.attachment_id;
    item.appendChild(el("span", `${attachment.filename} (${Math.ceil(attachment.size / 1024)} KiB)`));
    const blob = await attachmentBlob(incidentId, attachment.attachment_id);
    const url = URL.createObjectURL(blob);
    objectUrls.push(url);
    if (attachment.content_type.startsWith("image/")) {
      const image = el("img", null, "preview");
      image.alt = attachment.filename;
      image.src = url;
      item.appendChild(image);
    }
    const link = el("a", t("incident.download"));
    link.href = url;
    link.download = attachment.filename;
    item.appendChild(link);
    list.appendChild(item);
  }
}

/** When a mail row last moved: sent, given up on, or when it is tried next. */
function deliveryTime(mail) {
  if (mail.state === "sent" && mail.sent_at) return when(mail.sent_at);
  if (mail.state === "pending" && mail.next_attempt_at) return t("deliveries.next", { when: when(mail.next_attempt_at) });
  return when(mail.created_at);
}

async function renderDeliveries(incidentId) {
  const log = await api(`/incidents/${encodeURIComponent(incidentId)}/deliveries`);
  const rows = log.mails.map((mail) => {
    const row = el("tr");
    row.dataset.id = mail.id;
    row.dataset.kind = mail.kind;
    row.dataset.state = mail.state;
    const state = mail.last_error ? `${word("delivery", mail.state)}: ${mail.last_error}` : word("delivery", mail.state);
    for (const value of [word("mailKind", mail.kind), mail.to.join(", "), mail.subject, state, mail.attempts, deliveryTime(mail)]) {
      row.appendChild(el("td", value));
    }
    return row;
  });
  $("deliveries-body").replaceChildren(...rows);
  $("deliveries").hidden = rows.length === 0;
  $("deliveries-empty").hidden = rows.length > 0 || log.reports.length > 0;
  $("deliveries-reports").replaceChildren(...log.reports.map((report) => {
    const item = el("li", t(report.written ? "deliveries.reportWritten" : "deliveries.reportPending", {
      departamento: report.departamento, key: report.key,
    }));
    item.dataset.written = report.written;
    return item;
  }));
}

function renderIncident(incident, events) {
  open = incident;
  $("incident-title").textContent = incident.descripcion;
  const facts = $("incident-facts");
  facts.replaceChildren();
  const rows = [
    ["board.estado", word("estado", incident.estado)], ["board.tipo", word("tipo", incident.tipo)],
    ["board.urgencia", word("urgencia", incident.urgencia)], ["report.ubicacion", incident.ubicacion],
    ["board.departamento", incident.departamento || "—"], ["board.when", when(incident.created_at)],
  ];
  for (const [label, value] of rows) facts.append(el("dt", t(label)), el("dd", value));
  $("incident-view").dataset.estado = incident.estado;
  $("incident-view").dataset.version = incident.version;
  const history = $("history-list");
  history.replaceChildren();
  for (const event of events) {
    const step = el("li");
    step.dataset.tipo = event.tipo_evento;
    step.append(el("time", when(event.created_at)), " ", el("span", describeEvent(event)));
    history.appendChild(step);
  }
  const moves = $("status-estado");
  moves.replaceChildren(...(MOVES[incident.estado] || []).map((estado) => option(estado, word("estado", estado))));
  $("assign-form").hidden = session.user.rol !== "admin";
  const departments = $("assign-departamento");
  departments.replaceChildren(...board.departments.map((d) => option(d.nombre, d.nombre)));
  if (incident.departamento) departments.value = incident.departamento;
  $("incident-changed").hidden = true;
}

/** Shows the incident page, reading the incident, its history and its attachments. */
export async function openIncident(id) {
  const path = `/incidents/${encodeURIComponent(id)}`;
  const [incident, events] = await Promise.all([api(path), api(path + "/events")]);
  renderIncident(incident, events.items);
  $("board-view").hidden = true;
  $("incident-view").hidden = false;
  $("incident-title").focus();
  await Promise.all([renderAttachments(id), renderDeliveries(id)]);
}

async function reloadIncident() {
  if (open) await openIncident(open.incident_id);
}

function closeIncident() {
  open = null;
  notice("");
  $("incident-view").hidden = true;
  $("board-view").hidden = false;
}

async function changeStatus(event) {
  event.preventDefault();
  notice("");
  const body = { estado: $("status-estado").value, version: open.version };
  const nota = $("status-nota").value.trim();
  if (nota) body.nota = nota;
  try {
    await api(`/incidents/${encodeURIComponent(open.incident_id)}/status`, { method: "POST", body });
    $("status-nota").value = "";
    await reloadIncident();
    notice(t("incident.saved"));
  } catch (error) {
    if (error.code === "stale_version") {
      await reloadIncident();
      notice(t("incident.stale"), "error");
    } else {
      notice(error.message, "error");
    }
  }
}

async function addComment(event) {
  event.preventDefault();
  notice("");
  try {
    await api(`/incidents/${encodeURIComponent(open.incident_id)}/comments`, {
      method: "POST", body: { texto: $("comment-texto").value },
    });
    $("comment-texto").value = "";
    await reloadIncident();
    notice(t("incident.saved"));
  } catch (error) {
    notice(error.message, "error");
  }
}

async function assignDepartment(event) {
  event.preventDefault();
  notice("");
  try {
    await api(`/incidents/${encodeURIComponent(open.incident_id)}/department`, {
      method: "POST", body: { departamento: $("assign-departamento").value },
    });
    await reloadIncident();
    notice(t("incident.saved"));
  } catch (error) {
    notice(error.message, "error");
  }
}

/** A stream message, for the staff's screens. */
export function staffMessage(message) {
  alertMessage(message);
  if (!message.type.startsWith("incident.")) return;
  const { incident } = message.data;
  if (message.type === "incident.created" || message.type === "incident.status_changed") refreshChartSoon();
  const row = $("board-body").querySelector(`tr[data-id="${CSS.escape(incident.incident_id)}"]`);
  if (row) {
    if (Number(row.dataset.version) < incident.version) row.replaceWith(boardRow(incident));
  } else if (message.type === "incident.created" && !board.cursor && matchesFilters(incident)) {
    $("board-body").prepend(boardRow(incident));
    $("board-empty").hidden = true;
    toast(t("board.new", { descripcion: incident.descripcion }));
  }
  if (open && open.incident_id === incident.incident_id && incident.version > open.version) {
    $("incident-changed").hidden = false;
  }
}

/** What a `reset` asks: read again everything the staff's screens show. */
export async function reloadStaff() {
  const streams = await Promise.all([loadBoard(board.cursor), reloadAlerts()]);
  refreshChartSoon();
  if (open) await reloadIncident();
  return streams;
}

function fillFilters() {
  fillSelect($("filter-estado"), "estado", STATES, true);
  fillSelect($("filter-tipo"), "tipo", TYPES, true);
  fillSelect($("filter-urgencia"), "urgencia", URGENCIES, true);
  const departments = $("filter-departamento");
  const chosen = departments.value;
  departments.replaceChildren(option("", t("board.any")), ...board.departments.map((d) => option(d.nombre, d.nombre)));
  departments.value = chosen;
}

/** After a language switch: the words of the wire values change, so draw them again. */
export function redrawStaff() {
  fillFilters();
  redrawAlerts();
  if ($("staff-view").hidden) return;
  redrawChart();
  if (open) reloadIncident().catch(() => {});
  else loadBoard(board.cursor).catch(() => {});
  reloadAlerts().catch(() => {});
}

/** Empties what a logged-out page must not keep. */
export function clearStaff() {
  open = null;
  $("board-body").replaceChildren();
  $("incident-view").hidden = true;
  $("board-view").hidden = false;
  clearAlerts();
}

/** Reads the departments, for the filter and the assignment form. */
export async function loadDepartments() {
  board.departments = (await api("/departments")).items;
  fillFilters();
  await loadChart();
}

export function setUpStaff() {
  fillFilters();
  setUpAlerts({ openIncident });
  $("filters").addEventListener("submit", (event) => { event.preventDefault(); loadBoard(null).catch((e) => toast(e.message)); });
  $("board-next").addEventListener("click", () => loadBoard(board.next).catch((e) => toast(e.message)));
  $("board-first").addEventListener("click", () => loadBoard(null).catch((e) => toast(e.message)));
  $("incident-back").addEventListener("click", closeIncident);
  $("incident-reload").addEventListener("click", () => reloadIncident().catch((e) => toast(e.message)));
  $("status-form").addEventListener("submit", changeStatus);
  $("comment-form").addEventListener("submit", addComment);
  $("assign-form").addEventListener("submit", assignDepartment);
}
