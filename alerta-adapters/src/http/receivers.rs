//! `/integrations/...`: alerts from Prometheus Alertmanager's webhook and from senders of
//! PagerDuty Events API v2 events, authenticated with an ingest key.

use std::collections::BTreeMap;

use alerta_core::domain::{
    AlertDraft, AlertMessage, AlertSource, Channel, Fingerprint, Severity, Timestamp, hex_sha256,
};
use alerta_core::{Error, Received, ReceivedSummary};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::auth::Bearer;
use super::error::{ApiError, Reply};
use super::json::JsonBody;
use super::openapi::ErrorReply;

#[derive(utoipa::OpenApi)]
#[openapi(paths(alertmanager, pagerduty))]
pub(super) struct Api;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/integrations/alertmanager", post(alertmanager))
        .route("/integrations/pagerduty", post(pagerduty))
}

/// Severities as other tools name them: the four of Alerta, any case; anything else is a
/// warning, so that an alert with an unusual label is still seen without paging anyone.
fn severity_of(text: Option<&str>) -> Severity {
    text.and_then(|t| Severity::parse(&t.trim().to_ascii_lowercase()).ok())
        .unwrap_or(Severity::Warning)
}

/// Alertmanager's webhook body (version 4). Fields Alerta does not use (`receiver`,
/// `groupKey`, `groupLabels`, `commonLabels`, `externalURL`, ...) are accepted and left alone.
#[derive(Deserialize)]
struct AlertmanagerBody {
    version: Option<String>,
    alerts: Vec<AlertmanagerAlert>,
}

#[derive(Deserialize)]
struct AlertmanagerAlert {
    status: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    fingerprint: Option<String>,
}

impl AlertmanagerAlert {
    /// Alertmanager's fingerprint, or one made from the sorted labels: the same labels give
    /// the same fingerprint, as they do in Alertmanager.
    fn fingerprint(&self) -> Result<Fingerprint, Error> {
        match self.fingerprint.as_deref().map(str::trim) {
            Some(given) if !given.is_empty() => Fingerprint::parse(given),
            _ => {
                let labels = serde_json::to_string(&self.labels).unwrap_or_default();
                Fingerprint::parse(&format!("labels:{}", hex_sha256(labels.as_bytes())))
            }
        }
    }

    fn received(&self) -> Result<Received, Error> {
        let fingerprint = self.fingerprint()?;
        match self.status.as_str() {
            "firing" => {
                let label = |name: &str| {
                    self.labels
                        .get(name)
                        .map(|v| v.trim())
                        .filter(|v| !v.is_empty())
                };
                let annotation = |name: &str| {
                    self.annotations
                        .get(name)
                        .map(|v| v.trim())
                        .filter(|v| !v.is_empty())
                };
                let source = label("instance")
                    .or_else(|| label("job"))
                    .unwrap_or("alertmanager");
                let message = annotation("summary")
                    .or_else(|| annotation("description"))
                    .or_else(|| label("alertname"))
                    .unwrap_or("Alertmanager alert");
                Ok(Received::Firing(AlertDraft {
                    source: AlertSource::parse(source)?,
                    severity: severity_of(label("severity")),
                    message: AlertMessage::parse(message)?,
                    channel: Channel::Http,
                    fingerprint: Some(fingerprint),
                }))
            }
            "resolved" => Ok(Received::Resolved {
                fingerprint,
                note: None,
            }),
            other => Err(Error::invalid(
                "status",
                format!("an alert's status must be firing or resolved, not {other:?}"),
            )),
        }
    }
}

/// Receive an Alertmanager webhook notification
///
/// Alertmanager's webhook payload, version 4, with `Authorization: Bearer <ingest key>`: every
/// alert of the notification, in order; nothing when one of them is refused.
#[utoipa::path(post, path = "/integrations/alertmanager", tag = "integrations",
    security(("ingest_key" = [])),
    request_body(content = serde_json::Value, description = "Alertmanager's webhook payload (`version` \"4\", `alerts[]`)."),
    responses(
        (status = 200, description = "What the notification did.", body = ReceivedSummary),
        (status = 400, description = "A bad payload or alert; nothing was stored.", body = ErrorReply),
        (status = 401, description = "No ingest key or a wrong one.", body = ErrorReply),
    ))]
async fn alertmanager(
    State(state): State<AppState>,
    Bearer(key): Bearer,
    JsonBody(body): JsonBody<AlertmanagerBody>,
) -> Reply<Json<ReceivedSummary>> {
    let pass = state.app.ingest_pass(key.as_deref())?;
    if let Some(version) = body.version.as_deref()
        && version != "4"
    {
        return Err(Error::invalid(
            "version",
            format!("the webhook payload version must be \"4\", not {version:?}"),
        )
        .into());
    }
    let received = body
        .alerts
        .iter()
        .map(AlertmanagerAlert::received)
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(Json(state.app.receive_alerts(pass, received).await?))
}

/// A refused PagerDuty-style event, answered as the Events API v2 answers one.
struct InvalidEvent(StatusCode, &'static str, &'static str, Vec<String>);

impl InvalidEvent {
    fn new(error: impl Into<String>) -> Self {
        Self(
            StatusCode::BAD_REQUEST,
            "invalid event",
            "Event object is invalid",
            vec![error.into()],
        )
    }
}

impl IntoResponse for InvalidEvent {
    fn into_response(self) -> Response {
        let Self(status, summary, message, errors) = self;
        let body = json!({"status": summary, "message": message, "errors": errors});
        (status, Json(body)).into_response()
    }
}

/// A text field of `object`: absent or null is `None`, anything but a string is refused.
fn text<'a>(object: &'a Value, name: &str) -> Result<Option<&'a str>, InvalidEvent> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(InvalidEvent::new(format!("'{name}' must be a string"))),
    }
}

fn required<'a>(object: &'a Value, name: &str) -> Result<&'a str, InvalidEvent> {
    text(object, name)?
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| InvalidEvent::new(format!("'{name}' is missing or blank")))
}

/// A core refusal of a field, in the Events API's words.
fn refused(field: &str, error: Error) -> InvalidEvent {
    InvalidEvent::new(format!("'{field}' is invalid: {error}"))
}

/// An ISO 8601 time as the Events API takes it: RFC 3339, or with an offset written without
/// a colon (`2015-07-17T08:42:58.315+0000`, as PagerDuty's own examples write it).
fn iso_8601(text: &str) -> Result<Timestamp, Error> {
    Timestamp::parse_rfc3339(text).or_else(|error| {
        let bytes = text.as_bytes();
        let offset = bytes.len().checked_sub(5).filter(|&at| {
            matches!(bytes[at], b'+' | b'-') && bytes[at + 1..].iter().all(u8::is_ascii_digit)
        });
        match offset {
            Some(at) => {
                Timestamp::parse_rfc3339(&format!("{}:{}", &text[..at + 3], &text[at + 3..]))
            }
            None => Err(error),
        }
    })
}

/// What a PagerDuty-style event asks, with the dedup key it acts on.
fn event_of(event: &Value) -> Result<(Received, Fingerprint), InvalidEvent> {
    let dedup_key = text(event, "dedup_key")?
        .map(|key| Fingerprint::parse(key).map_err(|e| refused("dedup_key", e)))
        .transpose()?;
    match required(event, "event_action")? {
        "trigger" => {
            let payload = event
                .get("payload")
                .filter(|p| p.is_object())
                .ok_or_else(|| InvalidEvent::new("'payload' is missing or not an object"))?;
            let summary = required(payload, "summary")?;
            let source = required(payload, "source")?;
            let severity = required(payload, "severity")?;
            let severity = match severity {
                "critical" | "error" | "warning" | "info" => {
                    Severity::parse(severity).map_err(|e| refused("payload.severity", e))?
                }
                _ => {
                    return Err(InvalidEvent::new(
                        "'payload.severity' must be one of critical, error, warning, info",
                    ));
                }
            };
            if let Some(at) = text(payload, "timestamp")? {
                iso_8601(at).map_err(|e| refused("payload.timestamp", e))?;
            }
            let mut draft = AlertDraft {
                source: AlertSource::parse(source).map_err(|e| refused("payload.source", e))?,
                severity,
                message: AlertMessage::parse(summary).map_err(|e| refused("payload.summary", e))?,
                channel: Channel::Http,
                fingerprint: dedup_key,
            };
            // Without a dedup key, the alert's default fingerprint is its key: the same
            // event again folds into the same alert, as Alerta groups everything else.
            let key = draft.fingerprint();
            draft.fingerprint = Some(key.clone());
            Ok((Received::Firing(draft), key))
        }
        action @ ("acknowledge" | "resolve") => {
            let fingerprint = dedup_key
                .ok_or_else(|| InvalidEvent::new(format!("'dedup_key' is required to {action}")))?;
            let received = if action == "acknowledge" {
                Received::Acknowledged {
                    fingerprint: fingerprint.clone(),
                    note: None,
                }
            } else {
                Received::Resolved {
                    fingerprint: fingerprint.clone(),
                    note: None,
                }
            };
            Ok((received, fingerprint))
        }
        _ => Err(InvalidEvent::new(
            "'event_action' must be one of trigger, acknowledge, resolve",
        )),
    }
}

/// Receive a PagerDuty Events API v2 event
///
/// `routing_key` is an ingest key; `event_action` is `trigger`, `acknowledge` or `resolve`.
/// Answers 202 with the event's dedup key, as the Events API does.
#[utoipa::path(post, path = "/integrations/pagerduty", tag = "integrations",
    request_body(content = serde_json::Value, description = "A PagerDuty Events API v2 event."),
    responses(
        (status = 202, description = "`{status: \"success\", message, dedup_key}`.", body = serde_json::Value),
        (status = 400, description = "`{status: \"invalid event\", message, errors}`.", body = serde_json::Value),
        (status = 401, description = "An unknown routing key.", body = serde_json::Value),
    ))]
async fn pagerduty(State(state): State<AppState>, body: Bytes) -> Response {
    let event: Value = match serde_json::from_slice(&body) {
        Ok(event @ Value::Object(_)) => event,
        Ok(_) => return InvalidEvent::new("the event must be a JSON object").into_response(),
        Err(e) => return InvalidEvent::new(format!("the body is not JSON: {e}")).into_response(),
    };
    let routing_key = match required(&event, "routing_key") {
        Ok(key) => key,
        Err(refusal) => return refusal.into_response(),
    };
    let Ok(pass) = state.app.ingest_pass(Some(routing_key)) else {
        return InvalidEvent(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Invalid routing key",
            vec!["'routing_key' is not a key this server accepts".into()],
        )
        .into_response();
    };
    let (received, dedup_key) = match event_of(&event) {
        Ok(event) => event,
        Err(refusal) => return refusal.into_response(),
    };
    match state.app.receive_alerts(pass, vec![received]).await {
        Ok(_) => (
            StatusCode::ACCEPTED,
            Json(json!({
                "status": "success",
                "message": "Event processed",
                "dedup_key": dedup_key,
            })),
        )
            .into_response(),
        Err(error) => ApiError::from(error).into_response(),
    }
}
