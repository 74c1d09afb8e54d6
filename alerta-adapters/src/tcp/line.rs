//! One line of the protocol: parsing a request line, writing a reply line.

use std::borrow::Cow;

use alerta_core::domain::{AlertDraft, AlertId, Channel, Fingerprint, Note};
use alerta_core::{AlertChangeRequest, Alerta, Result};
use serde::{Deserialize, Deserializer, Serialize};

/// What a request line asks for, once it is known to be valid.
#[derive(Debug)]
pub(crate) enum Request {
    /// Store this alert.
    Alert(AlertDraft),
    /// Resolve this stored alert (`"action": "resolve"`).
    Resolve(AlertId, AlertChangeRequest),
    /// Nothing to store: the reply says why, and the connection stays usable.
    Refused(String),
    /// The sender may not ingest: the reply says so and the connection closes, so that keys
    /// cannot be guessed at line speed over one connection.
    Unauthorized,
}

/// Every field a line may hold. An alert line has `source`, `severity` and `message`, and
/// may have `fingerprint` (or its alias `dedup_key`); a
/// resolve line has `"action": "resolve"`, `id` and optionally `nota` and `version`.
#[derive(Deserialize)]
struct Body<'a> {
    #[serde(default, borrow, deserialize_with = "text")]
    action: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "text")]
    source: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "text")]
    severity: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "text")]
    message: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "text")]
    fingerprint: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "text")]
    dedup_key: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "text")]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "text")]
    nota: Option<Cow<'a, str>>,
    #[serde(default)]
    version: Option<u64>,
    #[serde(default, borrow, deserialize_with = "text")]
    key: Option<Cow<'a, str>>,
}

/// A string field, borrowed from the line when it holds no escapes: serde borrows a bare
/// `Cow` field on its own, but not one inside an `Option`, and every alert line goes through
/// here.
fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    struct Text;
    impl<'de> serde::de::Visitor<'de> for Text {
        type Value = Option<Cow<'de, str>>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a string")
        }
        fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Borrowed(text)))
        }
        fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(text.to_owned())))
        }
        fn visit_string<E>(self, text: String) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(text)))
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    deserializer.deserialize_any(Text)
}

/// `Some(value)` of a field a line needs, or why the line is refused.
fn required<'a>(
    value: Option<Cow<'a, str>>,
    what: &str,
    name: &str,
) -> std::result::Result<Cow<'a, str>, String> {
    value.ok_or_else(|| format!("invalid {what}: missing field `{name}`"))
}

impl Body<'_> {
    fn alert(self) -> std::result::Result<AlertDraft, String> {
        let source = required(self.source, "alert", "source")?;
        let severity = required(self.severity, "alert", "severity")?;
        let message = required(self.message, "alert", "message")?;
        let fingerprint = Fingerprint::sent(self.fingerprint.as_deref(), self.dedup_key.as_deref())
            .map_err(|e| e.public_message())?;
        AlertDraft::parse(&source, &severity, &message, Channel::Tcp)
            .and_then(|draft| draft.with_fingerprint(fingerprint))
            .map_err(|e| e.public_message())
    }

    fn resolve(self) -> std::result::Result<Request, String> {
        let id = required(self.id, "resolve", "id")?;
        let id = AlertId::parse(&id).map_err(|e| e.public_message())?;
        // A blank note is no note, as over HTTP.
        let note = self
            .nota
            .filter(|n| !n.trim().is_empty())
            .map(|n| Note::parse(&n))
            .transpose()
            .map_err(|e| e.public_message())?;
        let request = AlertChangeRequest {
            note,
            expected_version: self.version,
        };
        Ok(Request::Resolve(id, request))
    }
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
    let request = match body.action.as_deref() {
        None => body.alert().map(Request::Alert),
        Some("resolve") => body.resolve(),
        Some(other) => Err(format!(
            "invalid action: expected resolve, or no action for an alert, not {other:?}"
        )),
    };
    request.unwrap_or_else(Request::Refused)
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
