// The student's screens: reporting an incident (with a preview and an optional photo) and
// "my incidents", each with the timeline of its public history, kept live by the stream.

import { api, session, upload } from "./api.js";
import { $, el, option, toast, when } from "./dom.js";
import { t, word } from "./i18n.js";

/** The incident types of the default configuration (docs/API.md). */
export const TYPES = ["infraestructura", "seguridad", "limpieza", "tecnologia", "salud", "otro"];
export const URGENCIES = ["baja", "media", "alta", "critica"];
/** What the server accepts as an image, checked here before anything is sent. */
const PHOTO_TYPES = ["image/png", "image/jpeg", "image/webp", "image/gif"];
const PHOTO_MAX_BYTES = 10 * 1024 * 1024;

const mine = new Map(); // incident_id -> { incident, events }
let draft = null;

/** Fills `select` with the values of a wire enum, keeping its selection. */
export function fillSelect(select, kind, values, any) {
  const chosen = select.value;
  select.replaceChildren();
  if (any) select.appendChild(option("", t("board.any")));
  for (const value of values) select.appendChild(option(value, word(kind, value)));
  if ([...select.options].some((known) => known.value === chosen)) select.value = chosen;
}

/** A line of an incident's timeline, from a history event. */
export function describeEvent(event) {
  const detalle = event.detalle || {};
  const values = {
    de: word("estado", detalle.de), a: word("estado", detalle.a), texto: detalle.texto,
    departamento: detalle.departamento, filename: detalle.filename,
  };
  let text = t("event." + event.tipo_evento, values);
  if (event.tipo_evento === "cambio_estado" && detalle.nota) text += ` (${detalle.nota})`;
  return text;
}

function photoProblem(file) {
  if (!PHOTO_TYPES.includes(file.type)) return t("report.photoType");
  if (file.size > PHOTO_MAX_BYTES) return t("report.photoTooBig", { max: PHOTO_MAX_BYTES / 1024 / 1024 });
  return null;
}

function readForm() {
  return {
    tipo: $("report-tipo").value,
    descripcion: $("report-descripcion").value,
    ubicacion: $("report-ubicacion").value,
    urgencia: $("report-urgencia").value,
  };
}

function showPreview(incident, warnings) {
  const box = $("report-preview-box");
  const list = $("report-preview-fields");
  list.replaceChildren();
  const rows = [
    ["report.tipo", word("tipo", incident.tipo)], ["report.descripcion", incident.descripcion],
    ["report.ubicacion", incident.ubicacion], ["report.urgencia", word("urgencia", incident.urgencia)],
  ];
  const photo = $("report-photo").files[0];
  if (photo) rows.push(["report.photo", photo.name]);
  for (const [label, value] of rows) list.append(el("dt", t(label)), el("dd", value));
  $("report-warnings").replaceChildren(...(warnings || []).map((warning) => el("li", warning)));
  box.hidden = false;
  $("report-form").hidden = true;
  $("report-send").focus();
}

function closePreview() {
  $("report-preview-box").hidden = true;
  $("report-form").hidden = false;
}

async function previewReport(event) {
  event.preventDefault();
  $("report-error").textContent = "";
  const photo = $("report-photo").files[0];
  const problem = photo && photoProblem(photo);
  if (problem) { $("report-error").textContent = problem; return; }
  try {
    draft = readForm();
    const reply = await api("/incidents/preview", { method: "POST", body: draft });
    showPreview(reply.incident, reply.warnings);
  } catch (error) {
    $("report-error").textContent = error.message;
  }
}

async function sendReport() {
  $("report-send").disabled = true;
  const photo = $("report-photo").files[0];
  try {
    const incident = await api("/incidents", { method: "POST", body: draft });
    remember(incident, [reported(incident)]);
    closePreview();
    $("report-form").reset();
    $("location-hint").textContent = "";
    $("report-error").textContent = "";
    if (photo) {
      const progress = $("report-progress");
      progress.hidden = false;
      progress.value = 0;
      $("report-status").textContent = t("report.uploading");
      try {
        const attachment = await upload(incident.incident_id, photo, (fraction) => { progress.value = fraction; });
        // Attachment events reach staff only on the stream; the student knows their own, at
        // the server's time, so the timeline keeps its order whatever this device's clock says.
        const known = mine.get(incident.incident_id);
        if (known && attachment) {
          remember(known.incident, [{
            tipo_evento: "adjunto", created_at: attachment.created_at,
            detalle: { filename: attachment.filename, attachment_id: attachment.attachment_id },
          }]);
        }
      } catch (error) {
        $("report-error").textContent = t("report.photoFailed", { error: error.message });
      }
      progress.hidden = true;
    }
    $("report-status").textContent = t("report.sent");
    toast(t("report.sent"));
  } catch (error) {
    closePreview();
    $("report-error").textContent = error.message;
  } finally {
    $("report-send").disabled = false;
  }
}

let locationTimer = null;
function suggestLocations() {
  clearTimeout(locationTimer);
  const ubicacion = $("report-ubicacion").value.trim();
  locationTimer = setTimeout(async () => {
    if (!ubicacion) return;
    try {
      const reply = await api("/incidents/validate-location", { method: "POST", body: { ubicacion } });
      const list = $("location-suggestions");
      list.replaceChildren(...(reply.suggestions || []).map((name) => option(name, name)));
      $("location-hint").textContent = !reply.valid && reply.suggestions && reply.suggestions.length
        ? `${t("report.suggestions")} ${reply.suggestions.join(", ")}` : "";
    } catch (_) { /* suggestions are a help, not a requirement */ }
  }, 300);
}

/** Adds what is known of one incident to "my incidents", keeping the newer version and
 * each event once. */
function merge(incident, events) {
  const known = mine.get(incident.incident_id);
  if (known && known.incident.version > incident.version) return;
  const entry = known || { incident, events: [] };
  entry.incident = incident;
  for (const event of events) {
    if (!entry.events.some((seen) => event.event_id && seen.event_id === event.event_id)) entry.events.push(event);
  }
  entry.events.sort((a, b) => a.created_at.localeCompare(b.created_at));
  mine.set(incident.incident_id, entry);
}

function remember(incident, events) {
  merge(incident, events);
  renderMine();
}

function renderMine() {
  const list = $("mine-list");
  list.replaceChildren();
  const entries = [...mine.values()].sort((a, b) => b.incident.created_at.localeCompare(a.incident.created_at));
  $("mine-empty").hidden = entries.length > 0;
  for (const { incident, events } of entries) {
    const item = el("li", null, "card");
    item.dataset.id = incident.incident_id;
    item.dataset.estado = incident.estado;
    const title = el("h3", incident.descripcion);
    const estado = el("span", word("estado", incident.estado), "estado estado-" + incident.estado);
    estado.dataset.estado = incident.estado;
    const facts = el("p", `${word("tipo", incident.tipo)} · ${word("urgencia", incident.urgencia)} · ${incident.ubicacion}`);
    const timeline = el("ol", null, "timeline");
    for (const event of events) {
      const step = el("li");
      step.append(el("time", when(event.created_at)), " ", el("span", describeEvent(event)));
      timeline.appendChild(step);
    }
    item.append(title, estado, facts, timeline);
    if (incident.estado === "resuelto") {
      item.appendChild(el("p", t("mine.resolved", { descripcion: incident.descripcion }), "resolved"));
    }
    list.appendChild(item);
  }
}

/** The first line of a timeline the page writes itself: the report. */
function reported(incident) {
  return { tipo_evento: "creado", created_at: incident.created_at, detalle: {} };
}

/** Loads the student's own incidents with their timelines, in one request; resolves to the
 * stream id the list reflects (read before the list, so the stream replays whatever it
 * misses). */
export async function loadStudent() {
  const known = new Set(mine.keys());
  const reply = await api("/incidents/mine/timelines?limit=100");
  const entries = reply.items.map(({ incident, events }) => ({ incident, events }));
  // Messages that arrived while the list was read are kept: they may be newer.
  const during = [...mine.values()];
  mine.clear();
  for (const entry of entries) mine.set(entry.incident.incident_id, entry);
  for (const { incident, events } of during) {
    if (mine.has(incident.incident_id)) merge(incident, events.filter((event) => event.event_id));
    // Reported from this page while the list was read: the list may predate it, and the
    // stream will not bring it back (students receive incidents without their reporter).
    else if (!known.has(incident.incident_id)) mine.set(incident.incident_id, { incident, events });
  }
  renderMine();
  return reply.stream;
}

/** A stream message, for the student's screens. */
export function studentMessage(message) {
  if (!message.type.startsWith("incident.")) return;
  const { incident, event } = message.data;
  // Students receive every incident without its reporter, so their own are the ones this
  // page already knows (from "my incidents" or a report sent from it).
  if (!session.user) return;
  const own = mine.has(incident.incident_id) || incident.reportado_por === session.user.user_id;
  if (!own) return;
  const before = mine.get(incident.incident_id);
  const wasResolved = before !== undefined && before.incident.estado === "resuelto";
  remember(incident, event && event.tipo_evento !== "creado" ? [event] : []);
  if (incident.estado === "resuelto" && !wasResolved) {
    toast(t("mine.resolved", { descripcion: incident.descripcion }));
  }
}

export function redrawStudent() {
  fillSelect($("report-tipo"), "tipo", TYPES);
  fillSelect($("report-urgencia"), "urgencia", URGENCIES);
  renderMine();
}

export function setUpStudent() {
  redrawStudent();
  $("report-form").addEventListener("submit", previewReport);
  $("report-edit").addEventListener("click", closePreview);
  $("report-send").addEventListener("click", sendReport);
  $("report-ubicacion").addEventListener("input", suggestLocations);
  $("report-photo").addEventListener("change", () => {
    const photo = $("report-photo").files[0];
    const problem = photo && photoProblem(photo);
    $("report-error").textContent = problem || "";
    if (problem) $("report-photo").value = "";
  });
}
