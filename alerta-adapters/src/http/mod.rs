//! The REST API of the wire contract (`API.md`) as an axum [`Router`].
//!
//! [`router`] takes an [`Alerta`] and an [`HttpConfig`] and returns a router with its state
//! already applied, ready to serve or to combine with other routers:
//!
//! ```no_run
//! # async fn run(app: alerta_core::Alerta) -> std::io::Result<()> {
//! use std::net::SocketAddr;
//! use alerta_adapters::http::{router, HttpConfig};
//!
//! let api = router(app, HttpConfig::default());
//! // Other routes (a WebSocket endpoint, a dashboard) join with `merge`, or the whole API
//! // can live under a prefix with `axum::Router::new().nest("/api", api)`.
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! // With connect info, failed logins are also counted per client address.
//! axum::serve(listener, api.into_make_service_with_connect_info::<SocketAddr>()).await
//! # }
//! ```
//!
//! # Composing
//!
//! - The layers (request id, tracing, timeout, body limit, error shaping) wrap only the routes
//!   of this router. Routes merged in afterwards keep their own behaviour, which is what a
//!   long-lived WebSocket upgrade wants: no request timeout.
//! - The router has a fallback that answers unknown paths with a 404 in the error shape. axum
//!   refuses to merge two routers that both have a fallback, so a router merged into this one
//!   must not set its own (or must call `Router::reset_fallback` first).
//! - Client addresses come from `axum::extract::ConnectInfo<SocketAddr>` when the server
//!   provides it (or from `X-Forwarded-For`, see [`HttpConfig::trust_forwarded_for`]);
//!   without either, failed logins are counted per account only.
//!
//! # The OpenAPI document
//!
//! `GET /openapi.json` serves an OpenAPI 3.1 document of the router's routes, made once when
//! the router is built ([`api_doc`], plus whatever [`HttpConfig::openapi`] adds). A route
//! joins it in three steps, all in the module that serves it:
//!
//! 1. `#[utoipa::path(post, path = "/things/{id}", tag = "things", security(("session" =
//!    ["admin"])), params(Named<ThingId>, Idempotency), request_body = inline(ThingBody),
//!    responses((status = 201, body = Thing), ...))]` on the handler, whose doc comment gives
//!    the operation's summary (its first paragraph, one line) and description (the paragraphs
//!    after it).
//!    The security requirement says who may call: `("session" = [])` any signed-in user,
//!    `["staff"]` or `["admin"]` that role (OpenAPI 3.1 lets a bearer requirement name
//!    roles), `("session" = []), ("ingest_key" = [])` where an ingest key is accepted too,
//!    none for open routes. `params` names the extractors that read them (`Named<T>`,
//!    `Idempotency`, `Paged`, `StatePage<S>`, a module's query struct), so the document says
//!    what the handler reads. `responses` lists what the route decides itself; the replies
//!    its declaration implies are added to the document for it, in the error shape: 401 and
//!    403 from its security, 404 `<what>_not_found` from a `Named` path, 400 naming its query
//!    parameters and body fields, 409 for a reused `Idempotency-Key`.
//! 2. The handler's name in the module's `#[derive(OpenApi)] #[openapi(paths(...))] struct
//!    Api` (a new module adds its `Api::openapi` to `openapi::MODULES`).
//! 3. `#[derive(ToSchema)]` on its body and reply types (wire types of `alerta-core` have it
//!    with the core's `openapi` feature); a `Field<T>` of a body says its type with
//!    `#[schema(value_type = T, required = true)]`; a field the body leaves out is read as
//!    absent without `#[serde(default)]`.
//!
//! The tests in `tests/adapters/http/openapi.rs` read every `.route(...)` of these modules
//! and name any route missing from the document, probe every documented operation, and check
//! real replies against the schemas.
//!
//! # Errors on the wire
//!
//! Every error reply is `{"error": {"code", "message"}}` with the status of
//! [`status_code::of`](crate::status_code::of). A 503 also carries `correlation_id`, the
//! request's `x-request-id`, under which the underlying failure is logged; its source never
//! reaches the client.
//!
//! # Where the wire contract is silent
//!
//! - Request bodies: a missing, `null` or mistyped field is 400 `invalid_<field>`, like a
//!   value the core refuses; text that is not JSON is 400 `malformed_json`; JSON that is not
//!   an object is 400 `invalid_body`; a JSON route called without `Content-Type:
//!   application/json` is 415 `unsupported_media_type`; a body over
//!   [`HttpConfig::json_body_limit`] is 413 `too_large`. Unknown fields are ignored.
//! - Query strings: an empty value (`?estado=`) means no filter, as an HTML form sends it.
//! - `nota` of a status change: blank means no note.
//! - `GET /events?since=` takes an alert id or an RFC 3339 time.
//! - `GET /incidents/{id}/events` and `GET /incidents/{id}/attachments` reply in the list shape
//!   with `next_cursor: null`: they are returned whole. `GET /departments` replies `{items}`.
//! - Attachment downloads carry `Content-Disposition: inline` with the uploaded name and
//!   `X-Content-Type-Options: nosniff`.
//! - A request that takes longer than [`HttpConfig::request_timeout`] is 503 `timeout`.
//! - `GET /health` and `GET /ready` are open to anyone; `GET /admin/outbox?state=pending|sent|dead` lists outbox
//!   rows newest first and `POST /admin/outbox/{id}/retry` puts a row back to pending (409
//!   `already_sent` for sent mail): both for admins.
//! - `GET /silences` is for staff and admins; `POST /silences` and `DELETE /silences/{id}`
//!   (which expires the silence and answers 200 with it) for admins. `GET /events?silenced=`
//!   takes `true` or `false`.
//! - Unknown paths are 404 `not_found`, wrong methods 405 `method_not_allowed`.

mod accounts;
mod ack_links;
mod alert_incidents;
mod alerts;
mod attachments;
mod auth;
mod daily_stats;
mod departments;
mod error;
mod health;
mod idempotency;
mod implied_replies;
mod incidents;
mod json;
mod listener;
mod listing;
pub mod open311;
mod open311_doc;
mod openapi;
mod outbox;
mod query;
mod receivers;
mod silences;
mod stats;
mod users;
mod writes;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::ingest::GroupCommit;
use alerta_core::Alerta;
use alerta_core::domain::{IdSource, UlidSource};
use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use tower::ServiceBuilder;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

pub use health::{HealthCheck, HealthDetails};
pub use listener::{ListenerConfig, serve};
pub use openapi::{ErrorReply, api_doc};

/// How the router behaves, apart from the use cases themselves.
#[derive(Clone)]
pub struct HttpConfig {
    request_timeout: Duration,
    json_body_limit: usize,
    trust_forwarded_for: bool,
    health: Option<Arc<dyn HealthCheck>>,
    health_details: Option<Arc<dyn HealthDetails>>,
    group_commit: Option<GroupCommit>,
    openapi: Option<utoipa::openapi::OpenApi>,
}

impl HttpConfig {
    /// The default time a request may take, from its first byte to its reply.
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
    /// The default limit on JSON request bodies: far more than the largest valid body.
    pub const DEFAULT_JSON_BODY_LIMIT: usize = 64 * 1024;

    /// Sets how long a request may take before it is answered with 503 `timeout`. This
    /// includes reading the body, so it also bounds how long an attachment upload may take.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the largest JSON body accepted; larger ones get 413.
    pub fn json_body_limit(mut self, bytes: usize) -> Self {
        self.json_body_limit = bytes;
        self
    }

    /// Takes the client address of a request from the last entry of its `X-Forwarded-For`
    /// header instead of the connection. Only right behind one reverse proxy that appends to
    /// that header: anyone else can write it. Without it, every login behind a proxy shares
    /// the proxy's address, and failed logins from one client count against all.
    pub fn trust_forwarded_for(mut self, trust: bool) -> Self {
        self.trust_forwarded_for = trust;
        self
    }

    /// Sets what `GET /health` checks. Without one, it answers 200 whenever the server runs.
    pub fn health_check(mut self, check: impl HealthCheck + 'static) -> Self {
        self.health = Some(Arc::new(check));
        self
    }

    /// Adds fields to the body of a healthy `GET /health`: what is worth reporting without
    /// failing the check (a broker that does not answer, say).
    pub fn health_details(mut self, details: impl HealthDetails + 'static) -> Self {
        self.health_details = Some(Arc::new(details));
        self
    }

    /// Stores `POST /events` through `ingest`, the group commit the other transports share,
    /// instead of one transaction per request: concurrent requests then share commits, and
    /// a fingerprint's occurrences from HTTP and TCP fold in the same batches.
    pub fn group_commit(mut self, ingest: GroupCommit) -> Self {
        self.group_commit = Some(ingest);
        self
    }

    /// Adds the operations of routes served beside this router (merged in by the embedding)
    /// to the document of `GET /openapi.json`.
    pub fn openapi(mut self, more: utoipa::openapi::OpenApi) -> Self {
        match &mut self.openapi {
            Some(doc) => doc.merge(more),
            None => self.openapi = Some(more),
        }
        self
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
            json_body_limit: Self::DEFAULT_JSON_BODY_LIMIT,
            trust_forwarded_for: false,
            health: None,
            health_details: None,
            group_commit: None,
            openapi: None,
        }
    }
}

impl fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpConfig")
            .field("request_timeout", &self.request_timeout)
            .field("json_body_limit", &self.json_body_limit)
            .field("trust_forwarded_for", &self.trust_forwarded_for)
            .field("health_check", &self.health.is_some())
            .field("group_commit", &self.group_commit.is_some())
            .finish()
    }
}

/// What every handler gets.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) app: Alerta,
    pub(crate) json_body_limit: usize,
    pub(crate) trust_forwarded_for: bool,
    pub(crate) health: Option<Arc<dyn HealthCheck>>,
    pub(crate) health_details: Option<Arc<dyn HealthDetails>>,
    pub(crate) group_commit: Option<GroupCommit>,
    /// The document of `GET /openapi.json`, made once.
    pub(crate) openapi: axum::body::Bytes,
}

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The REST API of the wire contract over `app`, with its state applied.
///
/// Every route of `API.md` except `GET /ws` and `GET /` (see the module docs for how to add
/// them), plus `GET /health`, `GET /admin/outbox`, `POST /admin/outbox/{id}/retry` and
/// `GET /openapi.json`. `/silences` is among the routes of `API.md`.
pub fn router(app: Alerta, config: HttpConfig) -> Router {
    let attachment_limit = attachments::body_limit(app.settings().attachment_max_bytes);
    let state = AppState {
        app,
        json_body_limit: config.json_body_limit,
        trust_forwarded_for: config.trust_forwarded_for,
        health: config.health,
        health_details: config.health_details,
        group_commit: config.group_commit,
        openapi: openapi::finish(document(config.openapi)),
    };
    let routes = Router::new()
        .merge(health::routes())
        .merge(users::routes())
        .merge(accounts::routes())
        .merge(incidents::routes())
        .merge(attachments::routes(attachment_limit))
        .merge(departments::routes())
        .merge(stats::routes())
        .merge(daily_stats::routes())
        .merge(alerts::routes())
        .merge(alert_incidents::routes())
        .merge(outbox::routes())
        .merge(silences::routes())
        .merge(receivers::routes())
        .merge(ack_links::routes())
        .merge(openapi::routes())
        .fallback(error::not_found)
        .with_state(state);

    // Outermost first: the request id exists before the trace span is made, and the error
    // shaping runs inside the span so that what it logs carries the request id.
    let layers = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(
            X_REQUEST_ID,
            UlidRequestIds::default(),
        ))
        .layer(TraceLayer::new_for_http().make_span_with(error::request_span))
        .layer(PropagateRequestIdLayer::new(X_REQUEST_ID))
        .layer(axum::middleware::from_fn(error::shape_errors))
        .layer(HandleErrorLayer::new(error::timed_out))
        .timeout(config.request_timeout)
        .layer(DefaultBodyLimit::max(config.json_body_limit));
    routes.layer(layers)
}

/// The document of [`router`]'s routes, with `more` merged in.
fn document(more: Option<utoipa::openapi::OpenApi>) -> utoipa::openapi::OpenApi {
    let mut doc = api_doc();
    if let Some(more) = more {
        doc.merge(more);
    }
    doc
}

/// Request ids that sort by arrival time, like every other id of the system.
#[derive(Clone, Default)]
struct UlidRequestIds {
    ids: Arc<UlidSource>,
}

impl MakeRequestId for UlidRequestIds {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        self.ids.next_id().parse().ok().map(RequestId::new)
    }
}
