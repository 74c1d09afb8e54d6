//! `POST /events/{id}/incident`: an incident opened from an alert.

use alerta_core::IncidentFromAlert;
use alerta_core::domain::{AlertId, Incident};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::idempotency::Idempotency;
use super::json::{Field, OptionalJson};
use super::query::{PathParams, path_id};

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/events/{id}/incident", post(open))
}

/// `{tipo?, descripcion?, ubicacion?, urgencia?}`; the body may be absent.
#[derive(Default, Deserialize)]
#[serde(default)]
struct OpenBody {
    #[serde(rename = "tipo")]
    kind: Field<String>,
    #[serde(rename = "descripcion")]
    description: Field<String>,
    #[serde(rename = "ubicacion")]
    location: Field<String>,
    #[serde(rename = "urgencia")]
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

async fn open(
    State(state): State<AppState>,
    caller: Caller,
    idempotency: Idempotency,
    PathParams(id): PathParams<String>,
    body: OptionalJson<OpenBody>,
) -> Result<(StatusCode, Json<Incident>), ApiError> {
    let id = path_id(&id, AlertId::parse, "alert")?;
    let request = body.into_inner().request()?;
    let incident = state
        .app
        .open_incident_from_alert(&caller.user, &id, request, idempotency.key())
        .await?;
    Ok((StatusCode::CREATED, Json(incident)))
}
