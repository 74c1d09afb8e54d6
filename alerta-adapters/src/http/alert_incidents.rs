//! `POST /events/{id}/incident`: an incident opened from an alert.

use alerta_core::IncidentFromAlert;
use alerta_core::domain::{AlertId, Description, Incident, IncidentType, Location, Urgency};
use axum::Router;
use axum::routing::post;
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

use super::AppState;
use super::auth::Caller;
use super::error::Reply;
use super::idempotency::Idempotency;
use super::json::{Created, Field, OptionalJson};
use super::openapi::ErrorReply;
use super::query::Named;
use super::writes::Change;

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
    kind: Field<String>,
    #[serde(rename = "descripcion")]
    #[schema(value_type = Option<Description>)]
    description: Field<String>,
    #[serde(rename = "ubicacion")]
    #[schema(value_type = Option<Location>)]
    location: Field<String>,
    #[serde(rename = "urgencia")]
    #[schema(value_type = Option<Urgency>)]
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

/// Open an incident from an alert
///
/// Opens an incident from an alert; fields left out come from the alert.
#[utoipa::path(post, path = "/events/{id}/incident", tag = "alerts",
    security(("session" = ["staff"])),
    params(Named<AlertId>, Idempotency),
    request_body(content = inline(OpenBody), description = "Optional: no body (no `Content-Type`) is `{}`."),
    responses(
        (status = 201, description = "The incident, with `alert_id`.", body = Incident),
        (status = 409, description = "The alert already has an incident (`already_linked`).", body = ErrorReply),
    ))]
async fn open(
    caller: Caller,
    change: Change<AlertId, OpenBody, OptionalJson<OpenBody>>,
) -> Reply<Created<Incident>> {
    let request = change.body.request()?;
    let key = change.idempotency.key();
    let opened = caller
        .app
        .open_incident_from_alert(&caller.user, &change.id, request, key);
    Ok(Created(opened.await?))
}
