// The REST API of docs/API.md. The token lives in sessionStorage and travels only in the
// Authorization header (and in the WebSocket handshake, which cannot carry headers).

const TOKEN = "alerta.token";

export const session = {
  get token() { return sessionStorage.getItem(TOKEN); },
  set token(value) {
    if (value) sessionStorage.setItem(TOKEN, value); else sessionStorage.removeItem(TOKEN);
  },
  user: null,
};

/** An error reply: the HTTP status, the contract's `code` and its message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function failure(reply) {
  const body = await reply.json().catch(() => null);
  const error = body && body.error ? body.error : { code: "http_" + reply.status, message: reply.statusText };
  return new ApiError(reply.status, error.code, error.message);
}

/** Calls a JSON route; resolves to the parsed reply, rejects with an ApiError. */
export async function api(path, { method = "GET", body } = {}) {
  const headers = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (session.token) headers.authorization = "Bearer " + session.token;
  const reply = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!reply.ok) throw await failure(reply);
  return reply.status === 204 ? null : reply.json();
}

/** A query string from the non-empty entries of `params`. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value) search.set(name, value);
  const text = search.toString();
  return text ? "?" + text : "";
}

/** Fetches an attachment's bytes with the token, for an image preview or a download. */
export async function attachmentBlob(incidentId, attachmentId) {
  const reply = await fetch(`/incidents/${encodeURIComponent(incidentId)}/attachments/${encodeURIComponent(attachmentId)}`, {
    headers: { authorization: "Bearer " + session.token },
  });
  if (!reply.ok) throw await failure(reply);
  return reply.blob();
}

/**
 * Uploads a file as an attachment. XMLHttpRequest rather than fetch because only it reports
 * upload progress; `onProgress` gets a fraction between 0 and 1.
 */
export function upload(incidentId, file, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", `/incidents/${encodeURIComponent(incidentId)}/attachments?filename=${encodeURIComponent(file.name)}`);
    request.setRequestHeader("authorization", "Bearer " + session.token);
    request.setRequestHeader("content-type", file.type);
    request.upload.onprogress = (event) => { if (event.lengthComputable) onProgress(event.loaded / event.total); };
    request.onload = () => {
      let body = null;
      try { body = JSON.parse(request.responseText); } catch (_) { /* not JSON */ }
      if (request.status >= 200 && request.status < 300) return resolve(body);
      const error = body && body.error ? body.error : { code: "http_" + request.status, message: request.statusText };
      reject(new ApiError(request.status, error.code, error.message));
    };
    request.onerror = () => reject(new ApiError(0, "network", "network error"));
    request.send(file);
  });
}
