//! `/events`: the alert hub over HTTP.

use alerta_core::domain::{
    Alert, AlertCounts, AlertDraft, AlertEvent, AlertFilter, AlertId, AlertMessage, AlertSource,
    AlertStatus, AlertWithIncident, Channel, Fingerprint, Note, Occurrences, Page, SearchText,
    Severity, Timestamp,
};
use alerta_core::{AlertChangeRequest, AlertSender, Error};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::AppState;
use super::auth::{AlertCaller, Caller};
use super::error::Reply;
use super::idempotency::Idempotency;
use super::json::{Created, Field, OptionalJson};
use super::listing::{Listed, listed, whole};
use super::openapi::ErrorReply;
use super::query::{Named, PageParams, Paged, QueryParams, non_empty};
use super::writes::{Change, Write};

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
    source: Field<String>,
    #[schema(value_type = Severity, required = true)]
    severity: Field<String>,
    #[schema(value_type = AlertMessage, required = true)]
    message: Field<String>,
    /// Groups occurrences; without one, a hash of source, severity and message.
    #[schema(value_type = Option<Fingerprint>)]
    fingerprint: Field<String>,
    /// An alias of `fingerprint`; both at once must be equal.
    #[schema(value_type = Option<Fingerprint>)]
    dedup_key: Field<String>,
}

impl AlertBody {
    fn draft(self) -> Result<AlertDraft, Error> {
        let fingerprint = self.fingerprint.optional("fingerprint")?;
        let dedup_key = self.dedup_key.optional("fingerprint")?;
        AlertDraft::parse(
            &self.source.required("source")?,
            &self.severity.required("severity")?,
            &self.message.required("message")?,
            Channel::Http,
        )?
        .with_fingerprint(Fingerprint::sent(
            fingerprint.as_deref(),
            dedup_key.as_deref(),
        )?)
    }
}

/// `{ok: true, id}`
#[derive(Serialize, ToSchema)]
struct Accepted {
    ok: bool,
    id: AlertId,
}

/// Send an alert
///
/// Sends an alert occurrence; it opens a group or folds into its fingerprint's.
#[utoipa::path(post, path = "/events", tag = "alerts",
    security(("session" = []), ("ingest_key" = [])),
    params(Idempotency),
    request_body = inline(AlertBody),
    responses((status = 201, description = "The id of the alert (group) the occurrence went to.", body = Accepted)))]
async fn report(
    State(state): State<AppState>,
    caller: AlertCaller,
    write: Write<AlertBody>,
) -> Reply<Created<Accepted>> {
    let draft = write.body.draft()?;
    let key = write.idempotency.key();
    let sender = match &caller {
        AlertCaller::User(user) => AlertSender::User(user),
        AlertCaller::IngestKey => AlertSender::Ingest,
    };
    let alert = match &state.group_commit {
        Some(ingest) => {
            let committed = async { ingest.submit(draft).await?.await };
            state.app.report_alert_with(sender, key, committed).await?
        }
        None => state.app.report_alert(sender, draft, key).await?,
    };
    Ok(Created(Accepted {
        ok: true,
        id: alert.id,
    }))
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

/// List alerts
///
/// Alert groups, newest first.
#[utoipa::path(get, path = "/events", tag = "alerts",
    security(("session" = [])),
    params(AlertQuery, PageParams),
    responses((status = 200, description = "A page of alerts, each with its `incident_id` (or `null`), and the stream head.", body = Listed<AlertWithIncident>)))]
async fn search(
    caller: Caller,
    QueryParams(filters): QueryParams<AlertQuery>,
    QueryParams(page): QueryParams<PageParams>,
) -> Reply<Json<Listed<AlertWithIncident>>> {
    let filter = filters.filter()?;
    let page = page.page()?;
    let list = caller
        .app
        .search_alerts_with_incidents(&caller.user, &filter, &page);
    Ok(Json(listed(&caller.app, list).await?))
}

/// Alert counts
///
/// Alert groups by severity and by channel.
#[utoipa::path(get, path = "/events/stats", tag = "alerts",
    security(("session" = [])),
    responses((status = 200, description = "The counts.", body = AlertCounts)))]
async fn stats(caller: Caller) -> Reply<Json<AlertCounts>> {
    Ok(Json(caller.app.alert_stats(&caller.user).await?))
}

/// One alert
///
/// One alert, with the incident opened from it.
#[utoipa::path(get, path = "/events/{id}", tag = "alerts",
    security(("session" = [])),
    params(Named<AlertId>),
    responses((status = 200, description = "The alert and its `incident_id` (or `null`).", body = AlertWithIncident)))]
async fn one(caller: Caller, Named(id): Named<AlertId>) -> Reply<Json<AlertWithIncident>> {
    let alert = caller.app.alert(&caller.user, &id).await?;
    let incident_id = caller.app.incident_for_alert(&id).await?;
    Ok(Json(AlertWithIncident { alert, incident_id }))
}

/// Alert history
///
/// The alert's status changes, oldest first, whole.
#[utoipa::path(get, path = "/events/{id}/history", tag = "alerts",
    security(("session" = [])),
    params(Named<AlertId>),
    responses((status = 200, description = "Its history; `next_cursor` is `null`.", body = Page<AlertEvent>)))]
async fn history(caller: Caller, Named(id): Named<AlertId>) -> Reply<Json<Page<AlertEvent>>> {
    Ok(whole(caller.app.alert_history(&caller.user, &id).await?))
}

/// Occurrences
///
/// When the occurrences of an alert's group arrived, newest first, a page at a time.
#[utoipa::path(get, path = "/events/{id}/occurrences", tag = "alerts",
    security(("session" = [])),
    params(Named<AlertId>, Paged),
    responses((status = 200, description = "A page of `{at, count}`.", body = Page<Occurrences>)))]
async fn occurrences(
    caller: Caller,
    Named(id): Named<AlertId>,
    Paged(page): Paged,
) -> Reply<Json<Page<Occurrences>>> {
    let occurrences = caller.app.alert_occurrences(&caller.user, &id, &page);
    Ok(Json(occurrences.await?))
}

/// `{nota?, version?}`, as `POST /incidents/{id}/status` takes them; the body may be absent.
#[derive(Default, Deserialize, ToSchema)]
struct ChangeBody {
    #[serde(rename = "nota")]
    #[schema(value_type = Option<Note>)]
    note: Field<String>,
    /// The `version` read; a stale one is 409 `stale_version`.
    #[schema(value_type = Option<u64>)]
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

/// What acknowledging or resolving an alert reads; the body may be left out.
type AlertChange = Change<AlertId, ChangeBody, OptionalJson<ChangeBody>>;

/// Acknowledge
///
/// Acknowledges a firing alert.
#[utoipa::path(post, path = "/events/{id}/ack", tag = "alerts",
    security(("session" = ["staff"])),
    params(Named<AlertId>, Idempotency),
    request_body(content = inline(ChangeBody), description = "Optional: no body (no `Content-Type`) is `{}`."),
    responses(ChangeReplies))]
async fn acknowledge(caller: Caller, change: AlertChange) -> Reply<Json<Alert>> {
    let request = change.body.request()?;
    let key = change.idempotency.key();
    let acknowledged = caller
        .app
        .acknowledge_alert(&caller.user, &change.id, request, key);
    Ok(Json(acknowledged.await?))
}

/// Resolve
///
/// Resolves an alert.
#[utoipa::path(post, path = "/events/{id}/resolve", tag = "alerts",
    security(("session" = ["staff"])),
    params(Named<AlertId>, Idempotency),
    request_body(content = inline(ChangeBody), description = "Optional: no body (no `Content-Type`) is `{}`."),
    responses(ChangeReplies))]
async fn resolve(caller: Caller, change: AlertChange) -> Reply<Json<Alert>> {
    let request = change.body.request()?;
    let sender = AlertSender::User(&caller.user);
    let key = change.idempotency.key();
    let resolved = caller.app.resolve_alert(sender, &change.id, request, key);
    Ok(Json(resolved.await?))
}

/// The replies of an acknowledgement and of a resolution.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Describes the replies; never built.
enum ChangeReplies {
    /// The alert.
    #[response(status = 200)]
    Changed(Alert),
    /// A move the lifecycle forbids (`invalid_transition`) or a stale `version` (`stale_version`).
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
