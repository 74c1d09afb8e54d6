//! The checks of a WebSocket upgrade request that do not depend on an HTTP server: the
//! handshake headers, the `Origin` policy, and the stream parameters. An HTTP server that
//! answers the upgrade itself calls these, then hands the upgraded stream to
//! [`Hub::serve_upgraded`](super::Hub::serve_upgraded).

use std::fmt;

use alerta_core::domain::{StreamId, Topic};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::http::{HeaderMap, Method, header};

use super::subscription::{Since, parse_topics};

/// Why an upgrade request is refused before upgrading, with the reply it deserves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// The HTTP status: 400, 401, 403 or 503.
    pub status: u16,
    /// The snake_case `code` of the wire error shape.
    pub code: String,
    /// A message safe to show the client.
    pub message: String,
}

impl Rejection {
    fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    /// A refusal carrying the status and code of a core error.
    pub fn from_error(error: &alerta_core::Error) -> Self {
        Self::new(
            crate::status_code::of(error),
            error.code(),
            error.public_message(),
        )
    }

    /// The reply body: `{"error": {"code", "message"}}`.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "error": { "code": self.code, "message": self.message } })
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for Rejection {}

/// Checks that a request asks for a WebSocket (RFC 6455, version 13) and returns the
/// `Sec-WebSocket-Accept` value of the `101` reply.
///
/// # Errors
///
/// A 400 rejection naming what is missing.
pub fn accept_key(method: &Method, headers: &HeaderMap) -> Result<String, Rejection> {
    let refuse = |what: &str| {
        Rejection::new(
            400,
            "websocket_upgrade_required",
            format!("not a WebSocket upgrade: {what}"),
        )
    };
    if method != Method::GET {
        return Err(refuse("the method must be GET"));
    }
    if !has_token(headers, header::CONNECTION, "upgrade") {
        return Err(refuse("missing `Connection: upgrade`"));
    }
    if !has_token(headers, header::UPGRADE, "websocket") {
        return Err(refuse("missing `Upgrade: websocket`"));
    }
    let version = headers.get(header::SEC_WEBSOCKET_VERSION);
    if version.is_none_or(|v| v.as_bytes() != b"13") {
        return Err(refuse("`Sec-WebSocket-Version` must be 13"));
    }
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .filter(|key| key.len() == 24)
        .ok_or_else(|| refuse("missing or malformed `Sec-WebSocket-Key`"))?;
    Ok(derive_accept_key(key.as_bytes()))
}

/// Whether a comma-separated header holds `token`, ignoring case.
fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| item.trim().eq_ignore_ascii_case(token))
}

/// Which browser pages may open the stream.
///
/// A page from the same origin as the server (its `Origin` names the request's `Host`) is
/// always allowed, and so is a request without `Origin`: only browsers send one, and the
/// check exists to stop pages of other sites from using a visitor's browser. Other origins
/// must be listed.
#[derive(Clone, Debug, Default)]
pub struct OriginPolicy {
    allowed: Vec<String>,
    any: bool,
}

impl OriginPolicy {
    /// Same origin only.
    pub fn same_origin() -> Self {
        Self::default()
    }

    /// Also allows pages from `origin`, e.g. `https://dashboard.campus.edu` (scheme, host and
    /// port, as browsers send it).
    pub fn allow(mut self, origin: impl Into<String>) -> Self {
        let origin = origin.into();
        if origin == "*" {
            self.any = true;
        } else {
            self.allowed
                .push(origin.trim_end_matches('/').to_ascii_lowercase());
        }
        self
    }

    /// Allows pages from anywhere.
    pub fn any() -> Self {
        Self {
            allowed: Vec::new(),
            any: true,
        }
    }

    /// Whether the request's `Origin` is allowed.
    ///
    /// # Errors
    ///
    /// A 403 rejection.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), Rejection> {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return Ok(());
        };
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let allowed = self.any
            || origin.to_str().is_ok_and(|origin| {
                let origin = origin.trim_end_matches('/').to_ascii_lowercase();
                self.allowed.contains(&origin)
                    || host.is_some_and(|host| {
                        origin
                            .split_once("://")
                            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
                    })
            });
        if allowed {
            Ok(())
        } else {
            Err(Rejection::new(
                403,
                "forbidden_origin",
                "this origin may not open the stream",
            ))
        }
    }
}

/// Parses `topics=` (empty or absent: every topic).
///
/// # Errors
///
/// A 400 rejection naming the unknown topic.
pub fn topics(text: Option<&str>) -> Result<Vec<Topic>, Rejection> {
    parse_topics(text.unwrap_or("")).map_err(|why| Rejection::new(400, "invalid_topics", why))
}

/// Checks `since=`: a stream id (`epoch:position`), as the `id` of a message. An id of the
/// form the stream gave before it had positions (a ULID) is accepted and answered with a
/// `reset`.
///
/// # Errors
///
/// A 400 rejection.
pub fn since(text: Option<&str>) -> Result<Option<Since>, Rejection> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(id) => match id.parse::<StreamId>() {
            Ok(id) => Ok(Some(Since::Id(id))),
            Err(_) if id.len() == 26 && id.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                Ok(Some(Since::Unknown))
            }
            Err(why) => Err(Rejection::new(400, "invalid_since", why)),
        },
    }
}
