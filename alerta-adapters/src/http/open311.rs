//! An Open311 GeoReport v2 facade, so that city apps and FixMyStreet-style clients report into
//! Alerta: `GET discovery.json`, `GET services.json`, `GET services/{code}.json`,
//! `GET/POST requests.json` and `GET requests/{id}.json` under a prefix of the caller's
//! choosing (the binary uses `/open311/v2`).
//!
//! How GeoReport maps onto Alerta:
//!
//! - A service is an incident type (`service_code` = `tipo`). Each service has one optional
//!   attribute, `urgencia` (`attribute[urgencia]=alta`), `media` when absent.
//! - A request is an incident. `status` is `open` until the incident is `resuelto`, then
//!   `closed`; `agency_responsible` is its department; `address` its `ubicacion`.
//! - `POST requests.json` takes a form-encoded body with an `api_key` from
//!   [`Open311Config::api_keys`] and reports as [`Open311Config::account`]. `address_string`
//!   becomes the `ubicacion`; with only `lat` and `long` the `ubicacion` is `lat,long`.
//!   Contact fields (`email`, `first_name`, `last_name`, `phone`, `device_id`, `account_id`)
//!   are accepted and not stored: Alerta keeps no personal data of Open311 reporters.
//! - `GET requests.json` is open, as the specification has it, and shows no reporter (with
//!   `public_incidents` off, only the requests posted through Open311): at most
//!   1,000 requests (newest first) from the last 90 days unless `start_date`/`end_date` say
//!   otherwise, filtered by `service_request_id` (comma-separated), `service_code` and
//!   `status`. `status_notes` is the note of the incident's last status change, on the
//!   single-request route only.
//! - Only the JSON format is served; `.xml` is 400. Errors are GeoReport's
//!   `[{"code", "description"}]` with the same HTTP status.

use std::collections::HashMap;
use std::sync::Arc;

use alerta_core::domain::{
    Change, Incident, IncidentFilter, IncidentId, PageRequest, Status, Timestamp, User,
};
use alerta_core::{Alerta, Error};
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

pub use super::open311_doc::api_doc;

/// How the Open311 facade answers.
#[derive(Clone, Debug)]
pub struct Open311Config {
    /// The keys a client must send as `api_key` to post a request. With none, posting is
    /// refused (403) and the facade only reads.
    pub api_keys: Vec<String>,
    /// The account every posted request is reported as: a student account made for the
    /// purpose (the binary makes `open311@<ALERTA_OPEN311_DOMAIN>`), which also reads.
    pub account: User,
    /// The `contact` of the discovery document: who runs this endpoint.
    pub contact: String,
}

/// The most requests one `GET requests.json` returns, as the specification suggests.
const MAX_REQUESTS: usize = 1000;
/// How far back `GET requests.json` looks without a `start_date`, in milliseconds: 90 days.
const DEFAULT_WINDOW_MS: i64 = 90 * 24 * 3600 * 1000;
/// The urgencies an Open311 client may choose, as `attribute[urgencia]`.
const URGENCIES: [&str; 4] = ["baja", "media", "alta", "critica"];

struct Facade {
    app: Alerta,
    config: Open311Config,
}

/// The GeoReport v2 routes, with no fallback, to be nested under a prefix:
/// `router.nest("/open311/v2", open311::routes(app, config))`.
pub fn routes(app: Alerta, config: Open311Config) -> Router {
    let facade = Arc::new(Facade { app, config });
    Router::new()
        .route("/{document}", get(document).post(post_request))
        .route("/services/{code}", get(service_definition))
        .route("/requests/{id}", get(one_request))
        .with_state(facade)
}

/// A GeoReport error reply.
struct Refusal {
    status: StatusCode,
    description: String,
}

impl Refusal {
    fn new(status: StatusCode, description: impl Into<String>) -> Self {
        Self {
            status,
            description: description.into(),
        }
    }

    fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{what} not found"))
    }
}

impl From<Error> for Refusal {
    fn from(error: Error) -> Self {
        let status = StatusCode::from_u16(crate::status_code::of(&error))
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let description = match &error {
            // A store failure's details stay in the log.
            Error::Unavailable { .. } => {
                tracing::warn!(%error, "an Open311 request failed");
                "service unavailable".to_owned()
            }
            _ => error.to_string(),
        };
        Self {
            status,
            description,
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = json!([{ "code": self.status.as_u16(), "description": self.description }]);
        (self.status, Json(body)).into_response()
    }
}

/// `name` without its `.json` suffix; any other format is refused.
fn json_name(name: &str) -> Result<&str, Refusal> {
    match name.rsplit_once('.') {
        Some((stem, "json")) => Ok(stem),
        Some((_, format)) => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            format!("format '{format}' is not served; use .json"),
        )),
        None => Err(Refusal::not_found("document")),
    }
}

async fn document(
    State(facade): State<Arc<Facade>>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Refusal> {
    match json_name(&name)? {
        "discovery" => Ok(Json(discovery(&facade.config))),
        "services" => Ok(Json(services(&facade.app))),
        "requests" => list_requests(&facade, &query).await.map(Json),
        _ => Err(Refusal::not_found("document")),
    }
}

fn discovery(config: &Open311Config) -> Value {
    json!({
        "changeset": "2026-12-01T00:00:00Z",
        "contact": config.contact,
        "key_service": "ask the contact above for an api_key",
        "endpoints": [{
            "specification": "http://wiki.open311.org/GeoReport_v2",
            "url": "/open311/v2",
            "changeset": "2026-12-01T00:00:00Z",
            "type": "production",
            "formats": ["application/json"],
        }],
    })
}

fn services(app: &Alerta) -> Value {
    let services: Vec<Value> = app
        .settings()
        .incident_types
        .names()
        .iter()
        .map(|name| {
            json!({
                "service_code": name,
                "service_name": name,
                "description": format!("Incidents of type {name}"),
                "metadata": true,
                "type": "realtime",
                "keywords": name,
                "group": "incidentes",
            })
        })
        .collect();
    Value::Array(services)
}

async fn service_definition(
    State(facade): State<Arc<Facade>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, Refusal> {
    let code = json_name(&name)?;
    let known = facade.app.settings().incident_types.parse(code).is_ok();
    if !known {
        return Err(Refusal::not_found("service_code"));
    }
    let values: Vec<Value> = URGENCIES
        .iter()
        .map(|u| json!({ "key": u, "name": u }))
        .collect();
    Ok(Json(json!({
        "service_code": code,
        "attributes": [{
            "variable": true,
            "code": "urgencia",
            "datatype": "singlevaluelist",
            "required": false,
            "datatype_description": "How urgent it is; media when not given",
            "order": 1,
            "description": "Urgencia",
            "values": values,
        }],
    })))
}

async fn post_request(
    State(facade): State<Arc<Facade>>,
    Path(name): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, Refusal> {
    if json_name(&name)? != "requests" {
        return Err(Refusal::not_found("document"));
    }
    let key = form.get("api_key").map(String::as_str).unwrap_or_default();
    if key.is_empty() || !facade.config.api_keys.iter().any(|k| k == key) {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "a valid api_key is required",
        ));
    }
    let field = |name: &str| {
        form.get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let code = field("service_code")
        .ok_or_else(|| Refusal::new(StatusCode::BAD_REQUEST, "service_code is required"))?;
    let location = match (field("address_string"), field("lat"), field("long")) {
        (Some(address), _, _) => address,
        (None, Some(lat), Some(long)) => coordinates(&lat, &long)?,
        _ => {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "a location is required: address_string, or lat and long",
            ));
        }
    };
    let description = field("description").unwrap_or_default();
    let urgency = field("attribute[urgencia]").unwrap_or_else(|| "media".to_owned());
    let draft = facade
        .app
        .parse_draft(&code, &description, &location, &urgency)?;
    let incident = facade
        .app
        .report_incident(&facade.config.account, draft, None)
        .await?;
    let body = json!([{
        "service_request_id": incident.id().as_str(),
        "service_notice": "",
        "account_id": null,
    }]);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `lat,long` after checking both are coordinates.
fn coordinates(lat: &str, long: &str) -> Result<String, Refusal> {
    let parse = |text: &str, bound: f64| {
        text.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && v.abs() <= bound)
    };
    match (parse(lat, 90.0), parse(long, 180.0)) {
        (Some(lat), Some(long)) => Ok(format!("{lat},{long}")),
        _ => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "lat and long must be decimal degrees",
        )),
    }
}

async fn one_request(
    State(facade): State<Arc<Facade>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, Refusal> {
    let id = IncidentId::parse(json_name(&name)?)
        .map_err(|_| Refusal::not_found("service_request_id"))?;
    let account = &facade.config.account;
    let incident = match facade.app.incident(account, &id).await {
        Ok(view) => view.incident().clone(),
        Err(Error::NotFound(_)) => return Err(Refusal::not_found("service_request_id")),
        Err(other) => return Err(other.into()),
    };
    // Status notes are what GeoReport shows the public; the rest of the history (comments,
    // actors) is for staff, so the history is read here rather than through a staff route.
    let notes = facade
        .app
        .storage()
        .incidents
        .history(&id)
        .await
        .ok()
        .and_then(|events| {
            events
                .into_iter()
                .rev()
                .find_map(|event| match event.change {
                    Change::StatusChanged { note, .. } => note.map(|n| n.as_str().to_owned()),
                    _ => None,
                })
        });
    let mut request = request_json(&incident);
    request["status_notes"] = notes.map_or(Value::Null, Value::String);
    Ok(Json(Value::Array(vec![request])))
}

async fn list_requests(facade: &Facade, query: &HashMap<String, String>) -> Result<Value, Refusal> {
    let param = |name: &str| query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let time = |name: &str| -> Result<Option<Timestamp>, Refusal> {
        param(name)
            .map(|text| {
                Timestamp::parse_rfc3339(text).map_err(|_| {
                    Refusal::new(
                        StatusCode::BAD_REQUEST,
                        format!("{name} must be a w3 (RFC 3339) date and time"),
                    )
                })
            })
            .transpose()
    };
    let ids: Option<Vec<&str>> =
        param("service_request_id").map(|list| list.split(',').map(str::trim).collect());
    let end = time("end_date")?;
    let start = match time("start_date")? {
        Some(start) => Some(start),
        // Without a start, the last 90 days (before `end_date` when given).
        None if ids.is_none() => {
            let until = end.unwrap_or_else(|| facade.app.clock().now());
            Some(Timestamp::from_unix_millis(
                until.unix_millis() - DEFAULT_WINDOW_MS,
            ))
        }
        None => None,
    };
    let closed = match param("status") {
        None => None,
        Some("open") => Some(false),
        Some("closed") => Some(true),
        Some(other) => {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                format!("status '{other}' is not open or closed"),
            ));
        }
    };
    let mut filter = IncidentFilter::default();
    if let Some(code) = param("service_code") {
        match facade.app.settings().incident_types.parse(code) {
            Ok(kind) => filter.kind = Some(kind),
            Err(_) => return Ok(Value::Array(vec![])),
        }
    }
    if closed == Some(true) {
        filter.status = Some(Status::Resolved);
    }
    let keep = |incident: &Incident| {
        ids.as_ref()
            .is_none_or(|ids| ids.contains(&incident.id().as_str()))
            && start.is_none_or(|s| incident.created_at() >= s)
            && end.is_none_or(|e| incident.created_at() <= e)
            && closed.is_none_or(|c| (incident.status() == Status::Resolved) == c)
    };
    let mut found: Vec<Incident> = Vec::new();
    let mut request = PageRequest::first(alerta_core::domain::Limit::MAX)?;
    loop {
        let page = facade
            .app
            .list_incidents(&facade.config.account, &filter, &request)
            .await?;
        found.extend(
            page.items
                .iter()
                .map(|view| view.incident())
                .filter(|i| keep(i))
                .cloned(),
        );
        match page.next_cursor {
            Some(cursor) => request = PageRequest::after(request.limit, cursor),
            None => break,
        }
    }
    found.sort_by_key(|i| std::cmp::Reverse(i.created_at()));
    found.truncate(MAX_REQUESTS);
    Ok(Value::Array(found.iter().map(request_json).collect()))
}

/// A service request as GeoReport shows it; no reporter, no contact.
fn request_json(incident: &Incident) -> Value {
    let status = if incident.status() == Status::Resolved {
        "closed"
    } else {
        "open"
    };
    let (lat, long) = incident
        .location()
        .as_str()
        .split_once(',')
        .and_then(|(lat, long)| Some((lat.parse::<f64>().ok()?, long.parse::<f64>().ok()?)))
        .map_or((Value::Null, Value::Null), |(lat, long)| {
            (json!(lat), json!(long))
        });
    json!({
        "service_request_id": incident.id().as_str(),
        "status": status,
        "status_notes": null,
        "service_name": incident.kind().as_str(),
        "service_code": incident.kind().as_str(),
        "description": incident.description().as_str(),
        "agency_responsible": incident.department().map(|d| d.as_str()),
        "service_notice": null,
        "requested_datetime": incident.created_at().to_rfc3339(),
        "updated_datetime": incident.updated_at().to_rfc3339(),
        "expected_datetime": null,
        "address": incident.location().as_str(),
        "address_id": null,
        "zipcode": null,
        "lat": lat,
        "long": long,
        "media_url": null,
    })
}
