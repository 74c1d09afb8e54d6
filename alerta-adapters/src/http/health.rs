//! `GET /health`, `GET /ready` and the hook a deployment uses to say what "healthy" means.

use std::future::Future;

use async_trait::async_trait;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use utoipa::{OpenApi, ToSchema};

use super::AppState;
use super::error::Reply;
use super::openapi::ErrorReply;

/// What `GET /health` checks: typically that every backend answers.
///
/// An error makes the endpoint answer 503 in the error shape; an
/// [`Error::Unavailable`](alerta_core::Error::Unavailable) keeps its source for the log only.
/// Any `Fn() -> impl Future<Output = alerta_core::Result<()>>` is a health check.
#[async_trait]
pub trait HealthCheck: Send + Sync {
    /// `Ok` when the service can do its work.
    async fn check(&self) -> alerta_core::Result<()>;
}

#[async_trait]
impl<F, Fut> HealthCheck for F
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = alerta_core::Result<()>> + Send,
{
    async fn check(&self) -> alerta_core::Result<()> {
        self().await
    }
}

/// Fields added to the body of a healthy `GET /health`, as a JSON object. Any
/// `Fn() -> impl Future<Output = serde_json::Value>` is one.
#[async_trait]
pub trait HealthDetails: Send + Sync {
    /// The fields to add.
    async fn details(&self) -> Value;
}

#[async_trait]
impl<F, Fut> HealthDetails for F
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Value> + Send,
{
    async fn details(&self) -> Value {
        self().await
    }
}

#[derive(OpenApi)]
#[openapi(paths(health, ready))]
pub(super) struct Api;

/// `{status, ...}`: what `GET /health` answers while healthy.
#[derive(ToSchema)]
#[schema(as = Health)]
#[allow(dead_code)] // Describes the JSON `health` builds.
struct HealthReply {
    /// `ok`.
    #[schema(pattern = "^ok$")]
    status: String,
    /// The stream's head, when the embedding reports it.
    stream: Option<StreamHead>,
    /// `ok` or `unreachable`, when the embedding sends mail over SMTP.
    #[schema(pattern = "^(ok|unreachable)$")]
    mail: Option<String>,
    /// `ok` or `unreachable`, when instances share a broker.
    #[schema(pattern = "^(ok|unreachable)$")]
    broker: Option<String>,
}

/// `{head}`
#[derive(ToSchema)]
#[allow(dead_code)]
struct StreamHead {
    /// The stream id of the log's head.
    head: String,
}

/// `{ready: true}`
#[derive(ToSchema)]
#[allow(dead_code)]
struct Ready {
    ready: bool,
}

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
}

/// Readiness
///
/// For load balancers: the health check alone, without the details, so that it stays cheap
/// to poll often.
#[utoipa::path(get, path = "/ready", tag = "meta",
    responses(
        (status = 200, description = "The store and blob store answer.", body = Ready),
        (status = 503, description = "What failed (`store is unavailable`, ...).", body = ErrorReply),
    ))]
async fn ready(State(state): State<AppState>) -> Reply<Json<Value>> {
    if let Some(check) = &state.health {
        check.check().await?;
    }
    Ok(Json(json!({"ready": true})))
}

/// Health
///
/// The store and blob store are probed; the mail server and broker are only reported.
#[utoipa::path(get, path = "/health", tag = "meta",
    responses(
        (status = 200, description = "Healthy, with what is worth reporting.", body = HealthReply),
        (status = 503, description = "What failed (`store is unavailable`, ...).", body = ErrorReply),
    ))]
async fn health(State(state): State<AppState>) -> Reply<Json<Value>> {
    if let Some(check) = &state.health {
        check.check().await?;
    }
    let mut body = json!({"status": "ok"});
    if let Some(details) = &state.health_details
        && let (Value::Object(fields), Value::Object(into)) = (details.details().await, &mut body)
    {
        into.extend(fields);
    }
    Ok(Json(body))
}
