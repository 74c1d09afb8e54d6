//! One line of the protocol: parsing a request line, writing a reply line.

use std::borrow::Cow;

use alerta_core::domain::{AlertDraft, Channel};
use alerta_core::{Alerta, Result};
use serde::{Deserialize, Serialize};

/// What a request line asks for, once it is known to be an alert.
#[derive(Debug)]
pub(crate) enum Request {
    /// Store this alert.
    Alert(AlertDraft),
    /// Nothing to store: the reply says why, and the connection stays usable.
    Refused(String),
    /// The sender may not ingest: the reply says so and the connection closes, so that keys
    /// cannot be guessed at line speed over one connection.
    Unauthorized,
}

#[derive(Deserialize)]
struct Body<'a> {
    #[serde(borrow)]
    source: Cow<'a, str>,
    #[serde(borrow)]
    severity: Cow<'a, str>,
    #[serde(borrow)]
    message: Cow<'a, str>,
    #[serde(default, borrow)]
    key: Option<Cow<'a, str>>,
}

/// Reads one line (without its `\n`; a trailing `\r` is allowed).
pub(crate) fn parse(line: &[u8], app: &Alerta) -> Request {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Ok(text) = std::str::from_utf8(line) else {
        return Request::Refused("invalid UTF-8".into());
    };
    let body: Body<'_> = match serde_json::from_str(text) {
        Ok(body) => body,
        Err(e) if e.is_data() => return Request::Refused(format!("invalid alert: {e}")),
        Err(e) => return Request::Refused(format!("invalid JSON: {e}")),
    };
    let keys_required = !app.settings().ingest_keys.is_empty();
    if keys_required && !body.key.as_deref().is_some_and(|k| app.is_ingest_key(k)) {
        return Request::Unauthorized;
    }
    match AlertDraft::parse(&body.source, &body.severity, &body.message, Channel::Tcp) {
        Ok(draft) => Request::Alert(draft),
        Err(e) => Request::Refused(e.public_message()),
    }
}

/// Whether a line carries nothing at all; such lines are skipped without a reply, so that a
/// stray blank line (or a `\r\n` pair) does not count as a request.
pub(crate) fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

#[derive(Serialize)]
struct Reply<'a> {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

/// Appends `{"ok": true, "id": ...}` and a newline.
pub(crate) fn write_stored(out: &mut Vec<u8>, id: &str) {
    write(
        out,
        &Reply {
            ok: true,
            id: Some(id),
            error: None,
        },
    );
}

/// Appends `{"ok": false, "error": ...}` and a newline.
pub(crate) fn write_error(out: &mut Vec<u8>, error: &str) {
    write(
        out,
        &Reply {
            ok: false,
            id: None,
            error: Some(error),
        },
    );
}

/// Appends the reply for the outcome of storing one alert.
pub(crate) fn write_outcome(out: &mut Vec<u8>, outcome: &Result<alerta_core::domain::Alert>) {
    match outcome {
        Ok(alert) => write_stored(out, alert.id.as_str()),
        Err(error) => write_error(out, &error.public_message()),
    }
}

fn write(out: &mut Vec<u8>, reply: &Reply<'_>) {
    // Serializing a struct of strings into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, reply);
    out.push(b'\n');
}

/// The reply sent for a line longer than `limit` bytes, before the connection closes.
pub(crate) fn too_long(limit: usize) -> String {
    format!("line longer than {limit} bytes")
}

/// The reply sent to a sender without a valid ingest key, before the connection closes.
pub(crate) const UNAUTHORIZED: &str = "missing or invalid ingest key";
