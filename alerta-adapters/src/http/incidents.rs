//! `/incidents` and the changes of one incident (status, comments, department, history).

use alerta_core::domain::{
    CommentText, DepartmentName, Incident, IncidentDeliveries, IncidentEvent, IncidentFilter,
    IncidentId, IncidentView, Location, Note, Page, SearchText, Status, Urgency,
};
use alerta_core::{IncidentDraft, LocationCheck, Preview, StatusChange};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::idempotency::Idempotency;
use super::json::{Field, JsonBody};
use super::listing::{Listed, listed};
use super::query::{PageParams, PathParams, QueryParams, non_empty, path_id};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/incidents", post(report).get(list))
        .route("/incidents/preview", post(preview))
        .route("/incidents/validate-location", post(validate_location))
        .route("/incidents/mine", get(mine))
        .route("/incidents/{id}", get(one))
        .route("/incidents/{id}/status", post(change_status))
        .route("/incidents/{id}/comments", post(comment))
        .route("/incidents/{id}/department", post(assign_department))
        .route("/incidents/{id}/events", get(history))
        .route("/incidents/{id}/deliveries", get(deliveries))
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct DraftBody {
    #[serde(rename = "tipo")]
    kind: Field<String>,
    #[serde(rename = "descripcion")]
    description: Field<String>,
    #[serde(rename = "ubicacion")]
    location: Field<String>,
    #[serde(rename = "urgencia")]
    urgency: Field<String>,
}

impl DraftBody {
    fn parse(self, state: &AppState) -> Result<IncidentDraft, ApiError> {
        Ok(state.app.parse_draft(
            &self.kind.required("tipo")?,
            &self.description.required("descripcion")?,
            &self.location.required("ubicacion")?,
            &self.urgency.required("urgencia")?,
        )?)
    }
}

async fn report(
    State(state): State<AppState>,
    caller: Caller,
    idempotency: Idempotency,
    JsonBody(body): JsonBody<DraftBody>,
) -> Result<(StatusCode, Json<Incident>), ApiError> {
    let draft = body.parse(&state)?;
    let incident = state
        .app
        .report_incident(&caller.user, draft, idempotency.key())
        .await?;
    Ok((StatusCode::CREATED, Json(incident)))
}

async fn preview(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<DraftBody>,
) -> Result<Json<Preview>, ApiError> {
    let draft = body.parse(&state)?;
    Ok(Json(state.app.preview_incident(&caller.user, draft)))
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct LocationBody {
    #[serde(rename = "ubicacion")]
    location: Field<String>,
}

async fn validate_location(
    State(state): State<AppState>,
    _caller: Caller,
    JsonBody(body): JsonBody<LocationBody>,
) -> Result<Json<LocationCheck>, ApiError> {
    let location = Location::parse(&body.location.required("ubicacion")?)?;
    Ok(Json(state.app.validate_location(location.as_str())))
}

/// The filters of `GET /incidents`.
#[derive(Default, Deserialize)]
struct IncidentQuery {
    #[serde(rename = "estado")]
    status: Option<String>,
    #[serde(rename = "tipo")]
    kind: Option<String>,
    #[serde(rename = "urgencia")]
    urgency: Option<String>,
    #[serde(rename = "departamento")]
    department: Option<String>,
    q: Option<String>,
}

impl IncidentQuery {
    fn filter(&self, state: &AppState) -> Result<IncidentFilter, ApiError> {
        Ok(IncidentFilter {
            status: non_empty(&self.status).map(Status::parse).transpose()?,
            kind: non_empty(&self.kind)
                .map(|t| state.app.settings().incident_types.parse(t))
                .transpose()?,
            urgency: non_empty(&self.urgency).map(Urgency::parse).transpose()?,
            department: non_empty(&self.department)
                .map(DepartmentName::parse)
                .transpose()?,
            reported_by: None,
            text: non_empty(&self.q).map(SearchText::parse).transpose()?,
        })
    }
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(filters): QueryParams<IncidentQuery>,
    QueryParams(page): QueryParams<PageParams>,
) -> Result<Json<Listed<IncidentView>>, ApiError> {
    let filter = filters.filter(&state)?;
    let page = page.page()?;
    let list = state.app.list_incidents(&caller.user, &filter, &page);
    Ok(Json(listed(&state, list).await?))
}

async fn mine(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(page): QueryParams<PageParams>,
) -> Result<Json<Listed<Incident>>, ApiError> {
    let page = page.page()?;
    let list = state.app.my_incidents(&caller.user, &page);
    Ok(Json(listed(&state, list).await?))
}

async fn one(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Json<IncidentView>, ApiError> {
    let id = path_id(&id, IncidentId::parse, "incident")?;
    Ok(Json(state.app.incident(&caller.user, &id).await?))
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct StatusBody {
    #[serde(rename = "estado")]
    status: Field<String>,
    #[serde(rename = "nota")]
    note: Field<String>,
    version: Field<u64>,
}

async fn change_status(
    State(state): State<AppState>,
    caller: Caller,
    idempotency: Idempotency,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody<StatusBody>,
) -> Result<Json<Incident>, ApiError> {
    let id = path_id(&id, IncidentId::parse, "incident")?;
    let to = Status::parse(&body.status.required("estado")?)?;
    // A blank note is what a form with an empty note field sends: no note, not a bad one.
    let note = body
        .note
        .optional("nota")?
        .filter(|n| !n.trim().is_empty())
        .map(|n| Note::parse(&n))
        .transpose()?;
    let request = StatusChange {
        to,
        note,
        expected_version: body.version.optional("version")?,
    };
    Ok(Json(
        state
            .app
            .change_status(&caller.user, &id, request, idempotency.key())
            .await?,
    ))
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct CommentBody {
    #[serde(rename = "texto")]
    text: Field<String>,
}

async fn comment(
    State(state): State<AppState>,
    caller: Caller,
    idempotency: Idempotency,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody<CommentBody>,
) -> Result<(StatusCode, Json<IncidentEvent>), ApiError> {
    let id = path_id(&id, IncidentId::parse, "incident")?;
    let text = CommentText::parse(&body.text.required("texto")?)?;
    let event = state
        .app
        .comment(&caller.user, &id, text, idempotency.key())
        .await?;
    Ok((StatusCode::CREATED, Json(event)))
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct DepartmentBody {
    #[serde(rename = "departamento")]
    department: Field<String>,
}

async fn assign_department(
    State(state): State<AppState>,
    caller: Caller,
    idempotency: Idempotency,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody<DepartmentBody>,
) -> Result<Json<Incident>, ApiError> {
    let id = path_id(&id, IncidentId::parse, "incident")?;
    let name = DepartmentName::parse(&body.department.required("departamento")?)?;
    Ok(Json(
        state
            .app
            .assign_department(&caller.user, &id, name, idempotency.key())
            .await?,
    ))
}

/// Every mail the incident caused and its reports; staff and admin.
async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Json<IncidentDeliveries>, ApiError> {
    let id = path_id(&id, IncidentId::parse, "incident")?;
    Ok(Json(
        state.app.incident_deliveries(&caller.user, &id).await?,
    ))
}

async fn history(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Json<Page<IncidentEvent>>, ApiError> {
    let id = path_id(&id, IncidentId::parse, "incident")?;
    let items = state.app.history(&caller.user, &id).await?;
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}
