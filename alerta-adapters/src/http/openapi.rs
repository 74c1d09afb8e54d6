//! `GET /openapi.json`: the OpenAPI 3.1 document of the API, generated from the handlers'
//! `#[utoipa::path]` attributes and the wire types' `ToSchema` derives.
//!
//! Each module of the API lists its handlers in its own `#[derive(OpenApi)] struct Api`,
//! beside its `routes()`; [`api_doc`] merges them all. See the module docs of
//! [`http`](super) for how a new route joins.

use std::collections::BTreeSet;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

use super::{AppState, implied_replies};

/// The error shape of every error reply: `{"error": {"code", "message"}}`.
#[derive(ToSchema)]
#[schema(as = Error)]
#[allow(dead_code)] // Describes `error::ErrorBody`, which borrows its fields.
pub struct ErrorReply {
    error: ErrorDetail,
}

/// What went wrong.
#[derive(ToSchema)]
#[allow(dead_code)]
struct ErrorDetail {
    /// What went wrong, in `snake_case`: `invalid_<field>`, `incident_not_found`, ...
    #[schema(pattern = "^[a-z0-9_]+$")]
    code: String,
    /// The same for a person.
    message: String,
    /// Only on a 503: the request id its cause was logged under.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    correlation_id: Option<String>,
}

/// The reply schemas whose fields may be left out: the error shape (`correlation_id` only on
/// a 503) and `GET /health` (its details depend on the embedding).
const OPTIONAL_FIELDS: &[&str] = &["Error", "ErrorDetail", "Health"];

/// The bearer session token of `POST /auth/login`; operations say `security(("session" = []))`.
pub(super) const SESSION: &str = "session";
/// An ingest key of `ALERTA_INGEST_KEYS`; operations that take one say
/// `security(("session" = []), ("ingest_key" = []))`.
const INGEST_KEY: &str = "ingest_key";

/// The document of every route of [`router`](super::router).
///
/// Each module of the API describes its own routes in an `Api` of its own; a new module's
/// joins in `MODULES`.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    let mut doc = Meta::openapi();
    for module in MODULES {
        doc.merge(module());
    }
    implied_replies::add(&mut doc);
    doc
}

/// A reply in the error shape.
pub(super) fn error_reply(description: &str) -> RefOr<Response> {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Error")))
        .build();
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content("application/json", content)
            .build(),
    )
}

/// The documents of the API's modules, in the order of [`router`](super::router).
const MODULES: &[fn() -> utoipa::openapi::OpenApi] = &[
    super::health::Api::openapi,
    super::users::Api::openapi,
    super::accounts::Api::openapi,
    super::incidents::Api::openapi,
    super::attachments::Api::openapi,
    super::departments::Api::openapi,
    super::stats::Api::openapi,
    super::daily_stats::Api::openapi,
    super::alerts::Api::openapi,
    super::alert_incidents::Api::openapi,
    super::outbox::Api::openapi,
    super::silences::Api::openapi,
    super::receivers::Api::openapi,
    super::ack_links::Api::openapi,
];

/// What the whole document says once: its title, the error shape, the security schemes and
/// `GET /openapi.json` itself.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Alerta",
        description = "Incidents and alerts of a campus: the wire contract of `docs/API.md`."
    ),
    paths(openapi_json),
    components(schemas(ErrorReply)),
    modifiers(&Security)
)]
struct Meta;

/// Adds the two bearer schemes the operations name.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(description))
                    .build(),
            )
        };
        components.add_security_scheme(
            SESSION,
            bearer("The token of `POST /auth/login`, as `Authorization: Bearer <token>`."),
        );
        components.add_security_scheme(
            INGEST_KEY,
            bearer("An ingest key of `ALERTA_INGEST_KEYS`, as `Authorization: Bearer <key>`."),
        );
    }
}

/// The document served: `doc` with every field of every reply schema required.
///
/// The server writes every field of a reply, `null` included, so a reply schema's fields are
/// all required; a schema that a request body also uses keeps its optional fields (a request
/// may leave them out), and so do those of [`OPTIONAL_FIELDS`].
pub(super) fn finish(doc: utoipa::openapi::OpenApi) -> Bytes {
    Bytes::from(serde_json::to_vec(&required_replies(doc)).unwrap_or_default())
}

fn required_replies(doc: utoipa::openapi::OpenApi) -> Value {
    let mut value = serde_json::to_value(&doc).unwrap_or_default();
    let replies = reachable(&value, "responses");
    let requests = reachable(&value, "requestBody");
    if let Some(schemas) = value
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for (name, schema) in schemas.iter_mut() {
            if replies.contains(name)
                && !requests.contains(name)
                && !OPTIONAL_FIELDS.contains(&name.as_str())
            {
                require_all(schema);
            }
        }
    }
    value
}

/// Marks every property of `schema` required, and of the objects it is composed of.
fn require_all(schema: &mut Value) {
    if let Some(all_of) = schema.get_mut("allOf").and_then(Value::as_array_mut) {
        all_of.iter_mut().for_each(require_all);
    }
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    let Some(properties) = object.get("properties").and_then(Value::as_object) else {
        return;
    };
    let names: Vec<Value> = properties.keys().cloned().map(Value::String).collect();
    object.insert("required".to_owned(), Value::Array(names));
}

/// The names of the component schemas that the `field` ("responses" or "requestBody") of some
/// operation refers to, directly or through other schemas.
fn reachable(doc: &Value, field: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut queue = Vec::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for item in paths.values() {
            for operation in item.as_object().into_iter().flat_map(|o| o.values()) {
                if let Some(part) = operation.get(field) {
                    refs(part, &mut queue);
                }
            }
        }
    }
    while let Some(name) = queue.pop() {
        if found.insert(name.clone())
            && let Some(schema) = doc.pointer(&format!("/components/schemas/{name}"))
        {
            refs(schema, &mut queue);
        }
    }
    found
}

/// Pushes the schema names of every `$ref` in `value`.
fn refs(value: &Value, names: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref")
                && let Some(name) = target.strip_prefix("#/components/schemas/")
            {
                names.push(name.to_owned());
            }
            map.values().for_each(|v| refs(v, names));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, names)),
        _ => {}
    }
}

/// The OpenAPI document
///
/// This document: every route of the API, its parameters, bodies, replies and security.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document.", body = Value))
)]
async fn openapi_json(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi.clone(),
    )
}

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/openapi.json", get(openapi_json))
}
