//! `POST /events/{id}/incident`: an incident opened from an alert.

use alerta_core::IncidentFromAlert;
use alerta_core::domain::{AlertId, Description, Incident, IncidentType, Location, Urgency};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::idempotency::Idempotency;
use super::json::{Field, OptionalJson};
use super::openapi::ErrorReply;
use super::openapi_parts::{AlertNotFound, AlertPath, IdempotencyKeyHeader};
use super::query::Named;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/events/{id}/incident", post(open))
}

#[derive(OpenApi)]
#[openapi(paths(open))]
pub(super) struct Api;

/// `{tipo?, descripcion?, ubicacion?, urgencia?}`; the body may be absent.
#[derive(Default, Deserialize, ToSchema)]
struct OpenBody {
    #[serde(rename = "tipo")]
    #[schema(value_type = Option<IncidentType>)]
    #[serde(default)]
    kind: Field<String>,
    #[serde(rename = "descripcion")]
    #[schema(value_type = Option<Description>)]
    #[serde(default)]
    description: Field<String>,
    #[serde(rename = "ubicacion")]
    #[schema(value_type = Option<Location>)]
    #[serde(default)]
    location: Field<String>,
    #[serde(rename = "urgencia")]
    #[schema(value_type = Option<Urgency>)]
    #[serde(default)]
    urgency: Field<String>,
}

impl OpenBody {
    fn request(self) -> Result<IncidentFromAlert, alerta_core::Error> {
        // A blank field is what a form left empty sends: derive it, as if it were absent.
        let given = |field: Field<String>, name| -> Result<Option<String>, alerta_core::Error> {
            Ok(field.optional(name)?.filter(|v| !v.trim().is_empty()))
        };
        Ok(IncidentFromAlert {
            kind: given(self.kind, "tipo")?,
            description: given(self.description, "descripcion")?,
            location: given(self.location, "ubicacion")?,
            urgency: given(self.urgency, "urgencia")?,
        })
    }
}

/// Opens an incident from an alert; fields left out come from the alert.
#[utoipa::path(post, path = "/events/{id}/incident", tag = "alerts",
    summary = "Open an incident from an alert",
    security(("session" = ["staff"])),
    params(AlertPath, IdempotencyKeyHeader),
    request_body(content = inline(OpenBody), description = "Optional: no body (no `Content-Type`) is `{}`."),
    responses(
        (status = 201, description = "The incident, with `alert_id`.", body = Incident),
        (status = 400, description = "A bad field (`invalid_tipo`, ...).", body = ErrorReply),
        AlertNotFound,
        (status = 409, description = "The alert already has an incident (`already_linked`), or a reused idempotency key.", body = ErrorReply),
    ))]
async fn open(
    caller: Caller,
    idempotency: Idempotency,
    Named(id): Named<AlertId>,
    body: OptionalJson<OpenBody>,
) -> Result<(StatusCode, Json<Incident>), ApiError> {
    let request = body.into_inner().request()?;
    let incident = caller
        .app
        .open_incident_from_alert(&caller.user, &id, request, idempotency.key())
        .await?;
    Ok((StatusCode::CREATED, Json(incident)))
}
