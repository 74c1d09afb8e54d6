//! `/events`: the alert hub over HTTP.

use alerta_core::domain::{
    Alert, AlertCounts, AlertDraft, AlertEvent, AlertFilter, AlertId, AlertMessage, AlertSource,
    AlertStatus, AlertWithIncident, Channel, Fingerprint, Note, Occurrences, Page, SearchText,
    Severity, Timestamp,
};
use alerta_core::{AlertChangeRequest, AlertSender, Error};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::AppState;
use super::auth::{AlertCaller, Caller};
use super::error::ApiError;
use super::idempotency::Idempotency;
use super::json::{Field, JsonBody, OptionalJson};
use super::listing::{Listed, listed, whole};
use super::openapi::ErrorReply;
use super::openapi_parts::{
    AlertNotFound, AlertPath, BadLimit, IdempotencyConflict, IdempotencyKeyHeader,
};
use super::query::{Named, PageParams, QueryParams, non_empty};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/events", post(report).get(search))
        .route("/events/stats", get(stats))
        .route("/events/{id}", get(one))
        .route("/events/{id}/history", get(history))
        .route("/events/{id}/occurrences", get(occurrences))
        .route("/events/{id}/ack", post(acknowledge))
        .route("/events/{id}/resolve", post(resolve))
}

#[derive(OpenApi)]
#[openapi(paths(report, search, stats, one, history, occurrences, acknowledge, resolve))]
pub(super) struct Api;

#[derive(Default, Deserialize, ToSchema)]
struct AlertBody {
    #[schema(value_type = AlertSource, required = true)]
    #[serde(default)]
    source: Field<String>,
    #[schema(value_type = Severity, required = true)]
    #[serde(default)]
    severity: Field<String>,
    #[schema(value_type = AlertMessage, required = true)]
    #[serde(default)]
    message: Field<String>,
    /// Groups occurrences; without one, a hash of source, severity and message.
    #[schema(value_type = Option<Fingerprint>)]
    #[serde(default)]
    fingerprint: Field<String>,
    /// An alias of `fingerprint`; both at once must be equal.
    #[schema(value_type = Option<Fingerprint>)]
    #[serde(default)]
    dedup_key: Field<String>,
}

/// `{ok: true, id}`
#[derive(Serialize, ToSchema)]
struct Accepted {
    ok: bool,
    id: AlertId,
}

/// Sends an alert occurrence; it opens a group or folds into its fingerprint's.
#[utoipa::path(post, path = "/events", tag = "alerts",
    summary = "Send an alert",
    security(("session" = []), ("ingest_key" = [])),
    params(IdempotencyKeyHeader),
    request_body = inline(AlertBody),
    responses(
        (status = 201, description = "The id of the alert (group) the occurrence went to.", body = Accepted),
        (status = 400, description = "A bad field (`invalid_source`, `invalid_fingerprint`, ...).", body = ErrorReply),
        IdempotencyConflict,
    ))]
async fn report(
    State(state): State<AppState>,
    caller: AlertCaller,
    idempotency: Idempotency,
    JsonBody(body): JsonBody<AlertBody>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let fingerprint = body.fingerprint.optional("fingerprint")?;
    let dedup_key = body.dedup_key.optional("fingerprint")?;
    let draft = AlertDraft::parse(
        &body.source.required("source")?,
        &body.severity.required("severity")?,
        &body.message.required("message")?,
        Channel::Http,
    )?
    .with_fingerprint(Fingerprint::sent(
        fingerprint.as_deref(),
        dedup_key.as_deref(),
    )?)?;
    let sender = match &caller {
        AlertCaller::User(user) => AlertSender::User(user),
        AlertCaller::IngestKey => AlertSender::Ingest,
    };
    let alert = match &state.group_commit {
        Some(ingest) => {
            let write = async { ingest.submit(draft).await?.await };
            state
                .app
                .report_alert_with(sender, idempotency.key(), write)
                .await?
        }
        None => {
            state
                .app
                .report_alert(sender, draft, idempotency.key())
                .await?
        }
    };
    Ok((
        StatusCode::CREATED,
        Json(Accepted {
            ok: true,
            id: alert.id,
        }),
    ))
}

/// The filters of `GET /events`.
#[derive(Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AlertQuery {
    /// Text in the source or message.
    q: Option<String>,
    #[param(value_type = Option<Severity>)]
    severity: Option<String>,
    source: Option<String>,
    #[param(value_type = Option<Channel>)]
    channel: Option<String>,
    /// Alerts after this alert id, or made at or after this RFC 3339 time.
    since: Option<String>,
    /// Only silenced (`true`) or unsilenced (`false`) alerts.
    #[param(value_type = Option<bool>)]
    silenced: Option<String>,
    /// Only groups in this status.
    #[param(value_type = Option<AlertStatus>)]
    status: Option<String>,
}

impl AlertQuery {
    fn filter(&self) -> Result<AlertFilter, Error> {
        Ok(AlertFilter {
            text: non_empty(&self.q).map(SearchText::parse).transpose()?,
            severity: non_empty(&self.severity).map(Severity::parse).transpose()?,
            source: non_empty(&self.source)
                .map(AlertSource::parse)
                .transpose()?,
            channel: non_empty(&self.channel).map(Channel::parse).transpose()?,
            since: non_empty(&self.since).map(since).transpose()?,
            silenced: non_empty(&self.silenced).map(silenced).transpose()?,
            status: non_empty(&self.status)
                .map(AlertStatus::parse)
                .transpose()?,
        })
    }
}

/// `silenced` is `true` or `false`.
fn silenced(text: &str) -> Result<bool, Error> {
    match text {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Error::invalid("silenced", "silenced must be true or false")),
    }
}

/// `since` is an alert id, or an RFC 3339 time for "made at or after".
///
/// Ids are ULIDs, whose first ten characters are the time they were made: the smallest id of
/// a millisecond is that time followed by zeros, and every alert made from then on sorts after
/// it.
fn since(text: &str) -> Result<AlertId, Error> {
    if let Ok(time) = Timestamp::parse_rfc3339(text) {
        return AlertId::parse(&ulid_floor(time));
    }
    AlertId::parse(text)
        .map_err(|_| Error::invalid("since", "since must be an alert id or an RFC 3339 time"))
}

fn ulid_floor(time: Timestamp) -> String {
    const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let ms = u64::try_from(time.unix_millis()).unwrap_or(0) & ((1 << 48) - 1);
    let mut text: String = (0..10)
        .rev()
        .map(|i| char::from(CROCKFORD[((ms >> (5 * i)) & 31) as usize]))
        .collect();
    text.push_str(&"0".repeat(16));
    text
}

/// Alert groups, newest first.
#[utoipa::path(get, path = "/events", tag = "alerts",
    summary = "List alerts",
    security(("session" = [])),
    params(AlertQuery, PageParams),
    responses(
        (status = 200, description = "A page of alerts, each with its `incident_id` (or `null`), and the stream head.", body = Listed<AlertWithIncident>),
        (status = 400, description = "A bad filter (`invalid_severity`, `invalid_since`, ...).", body = ErrorReply),
    ))]
async fn search(
    caller: Caller,
    QueryParams(filters): QueryParams<AlertQuery>,
    QueryParams(page): QueryParams<PageParams>,
) -> Result<Json<Listed<AlertWithIncident>>, ApiError> {
    let filter = filters.filter()?;
    let page = page.page()?;
    let list = caller
        .app
        .search_alerts_with_incidents(&caller.user, &filter, &page);
    Ok(Json(listed(&caller.app, list).await?))
}

/// Alert groups by severity and by channel.
#[utoipa::path(get, path = "/events/stats", tag = "alerts",
    summary = "Alert counts",
    security(("session" = [])),
    responses(
        (status = 200, description = "The counts.", body = AlertCounts),
    ))]
async fn stats(caller: Caller) -> Result<Json<AlertCounts>, ApiError> {
    Ok(Json(caller.app.alert_stats(&caller.user).await?))
}

/// One alert, with the incident opened from it.
#[utoipa::path(get, path = "/events/{id}", tag = "alerts",
    summary = "One alert",
    security(("session" = [])),
    params(AlertPath),
    responses(
        (status = 200, description = "The alert and its `incident_id` (or `null`).", body = AlertWithIncident),
        AlertNotFound,
    ))]
async fn one(
    caller: Caller,
    Named(id): Named<AlertId>,
) -> Result<Json<AlertWithIncident>, ApiError> {
    let alert = caller.app.alert(&caller.user, &id).await?;
    let incident_id = caller.app.incident_for_alert(&id).await?;
    Ok(Json(AlertWithIncident { alert, incident_id }))
}

/// The alert's status changes, oldest first, whole.
#[utoipa::path(get, path = "/events/{id}/history", tag = "alerts",
    summary = "Alert history",
    security(("session" = [])),
    params(AlertPath),
    responses(
        (status = 200, description = "Its history; `next_cursor` is `null`.", body = Page<AlertEvent>),
        AlertNotFound,
    ))]
async fn history(
    caller: Caller,
    Named(id): Named<AlertId>,
) -> Result<Json<Page<AlertEvent>>, ApiError> {
    Ok(whole(caller.app.alert_history(&caller.user, &id).await?))
}

/// When the occurrences of an alert's group arrived, newest first, a page at a time.
#[utoipa::path(get, path = "/events/{id}/occurrences", tag = "alerts",
    summary = "Occurrences",
    security(("session" = [])),
    params(AlertPath, PageParams),
    responses(
        (status = 200, description = "A page of `{at, count}`.", body = Page<Occurrences>),
        BadLimit,
        AlertNotFound,
    ))]
async fn occurrences(
    caller: Caller,
    Named(id): Named<AlertId>,
    QueryParams(page): QueryParams<PageParams>,
) -> Result<Json<Page<Occurrences>>, ApiError> {
    let page = page.page()?;
    Ok(Json(
        caller
            .app
            .alert_occurrences(&caller.user, &id, &page)
            .await?,
    ))
}

/// `{nota?, version?}`, as `POST /incidents/{id}/status` takes them; the body may be absent.
#[derive(Default, Deserialize, ToSchema)]
struct ChangeBody {
    #[serde(rename = "nota")]
    #[schema(value_type = Option<Note>)]
    #[serde(default)]
    note: Field<String>,
    /// The `version` read; a stale one is 409 `stale_version`.
    #[schema(value_type = Option<u64>)]
    #[serde(default)]
    version: Field<u64>,
}

impl ChangeBody {
    fn request(self) -> Result<AlertChangeRequest, Error> {
        Ok(AlertChangeRequest {
            note: self.note.note()?,
            expected_version: self.version.optional("version")?,
        })
    }
}

/// Acknowledges a firing alert.
#[utoipa::path(post, path = "/events/{id}/ack", tag = "alerts",
    summary = "Acknowledge",
    security(("session" = ["staff"])),
    params(AlertPath, IdempotencyKeyHeader),
    request_body(content = inline(ChangeBody), description = "Optional: no body (no `Content-Type`) is `{}`."),
    responses(ChangeReplies))]
async fn acknowledge(
    caller: Caller,
    idempotency: Idempotency,
    Named(id): Named<AlertId>,
    body: OptionalJson<ChangeBody>,
) -> Result<Json<Alert>, ApiError> {
    let request = body.into_inner().request()?;
    let app = &caller.app;
    let changed = app.acknowledge_alert(&caller.user, &id, request, idempotency.key());
    Ok(Json(changed.await?))
}

/// Resolves an alert.
#[utoipa::path(post, path = "/events/{id}/resolve", tag = "alerts",
    summary = "Resolve",
    security(("session" = ["staff"])),
    params(AlertPath, IdempotencyKeyHeader),
    request_body(content = inline(ChangeBody), description = "Optional: no body (no `Content-Type`) is `{}`."),
    responses(ChangeReplies))]
async fn resolve(
    caller: Caller,
    idempotency: Idempotency,
    Named(id): Named<AlertId>,
    body: OptionalJson<ChangeBody>,
) -> Result<Json<Alert>, ApiError> {
    let request = body.into_inner().request()?;
    let sender = AlertSender::User(&caller.user);
    let changed = caller
        .app
        .resolve_alert(sender, &id, request, idempotency.key());
    Ok(Json(changed.await?))
}

/// The replies of an acknowledgement and of a resolution.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Describes the replies; never built.
enum ChangeReplies {
    /// The alert.
    #[response(status = 200)]
    Changed(Alert),
    /// A bad `nota` or `version`.
    #[response(status = 400)]
    Invalid(ErrorReply),
    /// No such alert (`alert_not_found`).
    #[response(status = 404)]
    NotFound(ErrorReply),
    /// `invalid_transition`, `stale_version` or a reused idempotency key.
    #[response(status = 409)]
    Conflict(ErrorReply),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_becomes_the_smallest_id_of_its_millisecond() {
        // 1_469_918_176_385 ms is 01ARYZ6S41 in the ULID specification's example.
        let time = Timestamp::from_unix_millis(1_469_918_176_385);
        assert_eq!(ulid_floor(time), "01ARYZ6S410000000000000000");
        assert!(ulid_floor(time).as_str() < "01ARYZ6S41TSV4RRFFQ69G5FAV");
        assert!(ulid_floor(time).as_str() > "01ARYZ6S40ZZZZZZZZZZZZZZZZ");
        assert_eq!(since("nope!").unwrap_err().code(), "invalid_since");
    }
}
