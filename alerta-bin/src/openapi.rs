//! The operations the binary serves beside the API's router, for `GET /openapi.json`:
//! the Open311 facade under `/open311/v2` when it is on, `GET /metrics` when the API address
//! serves it, `GET /ws` and the web app at `/`.

#![allow(dead_code)] // The functions here describe routes other modules serve.

use utoipa::OpenApi;
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

/// The document of what the binary adds: the Open311 facade when `open311`, `GET /metrics`
/// when `metrics` (it is on the API address only with a token).
pub fn document(open311: bool, metrics: bool) -> Document {
    let mut doc = Always::openapi();
    if open311 {
        doc = doc.nest("/open311/v2", alerta_adapters::http::open311::api_doc());
    }
    if metrics {
        doc.merge(Metrics::openapi());
        let scheme = SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "`ALERTA_METRICS_TOKEN`, as `Authorization: Bearer <token>`.",
                ))
                .build(),
        );
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme("metrics_token", scheme);
    }
    doc
}

#[derive(OpenApi)]
#[openapi(paths(stream, web_app))]
struct Always;

#[derive(OpenApi)]
#[openapi(paths(metrics))]
struct Metrics;

/// The real-time stream (WebSocket)
///
/// Upgrades to a WebSocket whose text frames are `{type, id, at, data}` messages (see
/// `docs/API.md`, "Real-time stream").
#[utoipa::path(get, path = "/ws", tag = "stream",
    params(
        ("token" = String, Query, description = "A session token: the handshake cannot carry headers."),
        ("topics" = Option<String>, Query, description = "`incidents`, `alerts` or both, comma-separated."),
        ("since" = Option<String>, Query, description = "A stream id (`<epoch>:<position>`): replay what came after it."),
    ),
    responses(
        (status = 101, description = "Switched to the WebSocket protocol."),
        (status = 400, description = "A malformed `since` (`invalid_since`), or not a WebSocket handshake.", body = serde_json::Value),
        (status = 401, description = "No token or a bad one.", body = serde_json::Value),
    ))]
fn stream() {}

/// The web app
///
/// A static page of ES modules (`/`, `/app.css`, `/ui/*.js`) that uses only the routes of this
/// document.
#[utoipa::path(get, path = "/", tag = "web app",
    responses((status = 200, description = "The page.", content_type = "text/html", body = String)))]
fn web_app() {}

/// Metrics
///
/// Prometheus figures of this instance, in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "meta",
    security(("metrics_token" = [])),
    responses(
        (status = 200, description = "The series listed in the README's \"Operating Alerta\".", content_type = "text/plain", body = String),
        (status = 401, description = "No or a wrong `ALERTA_METRICS_TOKEN`.", body = serde_json::Value),
    ))]
fn metrics() {}
