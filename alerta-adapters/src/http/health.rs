//! `GET /health`, `GET /ready` and the hook a deployment uses to say what "healthy" means.

use std::future::Future;

use async_trait::async_trait;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;

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

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
}

/// For load balancers: the health check alone, without the details, so that it stays cheap
/// to poll often.
async fn ready(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    if let Some(check) = &state.health {
        check.check().await?;
    }
    Ok(Json(json!({"ready": true})))
}

async fn health(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
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
