// The live stream (`/ws`, docs/API.md): one connection for the whole page, resumed with
// `since=` after the newest message received, so a reconnect (a server restart, a network
// drop) loses nothing. A `reset` means the page missed what the log no longer holds: the
// views reload what they show.

import { api, session } from "./api.js";
import { $ } from "./dom.js";
import { t } from "./i18n.js";

const stream = {
  socket: null,
  lastId: null,
  retryMs: 500,
  onMessage: () => {},
  onReset: () => {},
  onSessionEnded: () => {},
};

function setBadge(kind, key) {
  const badge = $("badge");
  badge.className = "badge " + kind;
  badge.dataset.state = kind;
  badge.dataset.i18n = key;
  badge.textContent = t(key);
}

// Stream ids are `epoch:position`, compared as numbers, never as text.
function position(id) { return Number(String(id).split(":")[1]); }

/** The older of two stream ids: subscribing from it misses nothing after either list. */
export function olderStreamId(a, b) {
  if (!a) return b;
  if (!b) return a;
  return position(a) <= position(b) ? a : b;
}

/** Starts the stream after `since` (the `stream` id of the lists the page loaded). */
export function startStream(since, handlers) {
  Object.assign(stream, handlers);
  if (!stream.lastId) stream.lastId = since;
  connect();
}

/** Closes the stream for good (a logout). */
export function stopStream() {
  const socket = stream.socket;
  stream.socket = null;
  stream.lastId = null;
  if (socket) socket.close();
  setBadge("offline", "app.offline");
}

function receive(event) {
  let message;
  try { message = JSON.parse(event.data); } catch (_) { return; }
  stream.lastId = message.id;
  if (message.type === "reset") stream.onReset(message);
  else stream.onMessage(message);
}

function connect() {
  if (!session.token) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const params = new URLSearchParams({ token: session.token });
  if (stream.lastId) params.set("since", stream.lastId);
  setBadge("connecting", "app.connecting");
  const socket = new WebSocket(`${scheme}://${location.host}/ws?${params}`);
  let opened = false;
  stream.socket = socket;
  socket.onopen = () => { opened = true; stream.retryMs = 500; setBadge("online", "app.online"); };
  socket.onmessage = receive;
  socket.onclose = async () => {
    if (stream.socket !== socket) return;
    stream.socket = null;
    setBadge("connecting", "app.reconnecting");
    if (!opened && !(await sessionStillValid())) return;
    const wait = stream.retryMs;
    stream.retryMs = Math.min(stream.retryMs * 2, 5000);
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
    stream.onSessionEnded();
    return false;
  }
}
