//! `/incidents` and the changes of one incident (status, comments, department, history).

use alerta_core::domain::{
    CommentText, DepartmentName, Description, EventView, Incident, IncidentDeliveries,
    IncidentEvent, IncidentFilter, IncidentId, IncidentType, IncidentView, Location, Note, Page,
    SearchText, Status, Timeline, Urgency,
};
use alerta_core::{Alerta, IncidentDraft, LocationCheck, Preview, StatusChange};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::idempotency::Idempotency;
use super::json::{Field, JsonBody};
use super::listing::{Listed, listed, whole};
use super::openapi::ErrorReply;
use super::openapi_parts::{
    BadLimit, IdempotencyConflict, IdempotencyKeyHeader, IncidentNotFound, IncidentPath,
};
use super::query::{Named, PageParams, QueryParams, non_empty};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/incidents", post(report).get(list))
        .route("/incidents/preview", post(preview))
        .route("/incidents/validate-location", post(validate_location))
        .route("/incidents/mine", get(mine))
        .route("/incidents/mine/timelines", get(my_timelines))
        .route("/incidents/{id}", get(one))
        .route("/incidents/{id}/status", post(change_status))
        .route("/incidents/{id}/comments", post(comment))
        .route("/incidents/{id}/department", post(assign_department))
        .route("/incidents/{id}/events", get(history))
        .route("/incidents/{id}/deliveries", get(deliveries))
}

#[derive(OpenApi)]
#[openapi(paths(
    report,
    list,
    preview,
    validate_location,
    mine,
    my_timelines,
    one,
    change_status,
    comment,
    assign_department,
    history,
    deliveries
))]
pub(super) struct Api;

#[derive(Default, Deserialize, ToSchema)]
struct DraftBody {
    #[serde(rename = "tipo")]
    #[schema(value_type = IncidentType, required = true)]
    #[serde(default)]
    kind: Field<String>,
    #[serde(rename = "descripcion")]
    #[schema(value_type = Description, required = true)]
    #[serde(default)]
    description: Field<String>,
    #[serde(rename = "ubicacion")]
    #[schema(value_type = Location, required = true)]
    #[serde(default)]
    location: Field<String>,
    #[serde(rename = "urgencia")]
    #[schema(value_type = Urgency, required = true)]
    #[serde(default)]
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

/// Reports an incident, `estado` = `pendiente`.
#[utoipa::path(post, path = "/incidents", tag = "incidents",
    summary = "Report an incident",
    security(("session" = [])),
    params(IdempotencyKeyHeader),
    request_body = inline(DraftBody),
    responses(
        (status = 201, description = "The incident.", body = Incident),
        (status = 400, description = "A bad field (`invalid_tipo`, `invalid_descripcion`, ...).", body = ErrorReply),
        IdempotencyConflict,
    ))]
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

/// The incident as it would be stored, and what looks wrong; nothing is stored.
#[utoipa::path(post, path = "/incidents/preview", tag = "incidents",
    summary = "Preview a report",
    security(("session" = [])),
    request_body = inline(DraftBody),
    responses(
        (status = 200, description = "The incident it would be, and warnings.", body = Preview),
        (status = 400, description = "A bad field.", body = ErrorReply),
    ))]
async fn preview(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<DraftBody>,
) -> Result<Json<Preview>, ApiError> {
    let draft = body.parse(&state)?;
    Ok(Json(state.app.preview_incident(&caller.user, draft)))
}

#[derive(Default, Deserialize, ToSchema)]
struct LocationBody {
    #[serde(rename = "ubicacion")]
    #[schema(value_type = Location, required = true)]
    #[serde(default)]
    location: Field<String>,
}

/// Checks a location against the configured campus locations.
#[utoipa::path(post, path = "/incidents/validate-location", tag = "incidents",
    summary = "Check a location",
    security(("session" = [])),
    request_body = inline(LocationBody),
    responses(
        (status = 200, description = "Whether it is known, and suggestions.", body = LocationCheck),
        (status = 400, description = "A bad `ubicacion`.", body = ErrorReply),
    ))]
async fn validate_location(
    State(state): State<AppState>,
    _caller: Caller,
    JsonBody(body): JsonBody<LocationBody>,
) -> Result<Json<LocationCheck>, ApiError> {
    let location = Location::parse(&body.location.required("ubicacion")?)?;
    Ok(Json(state.app.validate_location(location.as_str())))
}

/// The filters of `GET /incidents`.
#[derive(Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct IncidentQuery {
    #[serde(rename = "estado")]
    #[param(value_type = Option<Status>)]
    status: Option<String>,
    #[serde(rename = "tipo")]
    #[param(value_type = Option<IncidentType>)]
    kind: Option<String>,
    #[serde(rename = "urgencia")]
    #[param(value_type = Option<Urgency>)]
    urgency: Option<String>,
    #[serde(rename = "departamento")]
    #[param(value_type = Option<DepartmentName>)]
    department: Option<String>,
    /// Text search in the description and location.
    q: Option<String>,
}

impl IncidentQuery {
    fn filter(&self, app: &Alerta) -> Result<IncidentFilter, ApiError> {
        Ok(IncidentFilter {
            status: non_empty(&self.status).map(Status::parse).transpose()?,
            kind: non_empty(&self.kind)
                .map(|t| app.settings().incident_types.parse(t))
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

/// Incidents, newest first; a student sees others' without the reporter.
#[utoipa::path(get, path = "/incidents", tag = "incidents",
    summary = "List incidents",
    security(("session" = [])),
    params(IncidentQuery, PageParams),
    responses(
        (status = 200, description = "A page of incidents and the stream head.", body = Listed<IncidentView>),
        (status = 400, description = "A bad filter (`invalid_estado`, `invalid_limit`, ...).", body = ErrorReply),
    ))]
async fn list(
    caller: Caller,
    QueryParams(filters): QueryParams<IncidentQuery>,
    QueryParams(page): QueryParams<PageParams>,
) -> Result<Json<Listed<IncidentView>>, ApiError> {
    let filter = filters.filter(&caller.app)?;
    let page = page.page()?;
    let list = caller.app.list_incidents(&caller.user, &filter, &page);
    Ok(Json(listed(&caller.app, list).await?))
}

/// The caller's own incidents, newest first.
#[utoipa::path(get, path = "/incidents/mine", tag = "incidents",
    summary = "My incidents",
    security(("session" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "A page of incidents and the stream head.", body = Listed<Incident>),
        BadLimit,
    ))]
async fn mine(
    caller: Caller,
    QueryParams(page): QueryParams<PageParams>,
) -> Result<Json<Listed<Incident>>, ApiError> {
    let page = page.page()?;
    let list = caller.app.my_incidents(&caller.user, &page);
    Ok(Json(listed(&caller.app, list).await?))
}

/// The caller's own incidents, newest first, each with the history they may read of it.
#[utoipa::path(get, path = "/incidents/mine/timelines", tag = "incidents",
    summary = "My incidents with their histories",
    description = "What `GET /incidents/mine` lists, each with its history as `GET /incidents/{id}/events` gives it to the caller (for a student, every event but staff comments, each with `actor: null`): a reporter's page in one request.",
    security(("session" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "A page of the caller's incidents with their histories, and the stream head.", body = Listed<Timeline>),
        BadLimit,
    ))]
async fn my_timelines(
    caller: Caller,
    QueryParams(page): QueryParams<PageParams>,
) -> Result<Json<Listed<Timeline>>, ApiError> {
    let page = page.page()?;
    let list = caller.app.my_timelines(&caller.user, &page);
    Ok(Json(listed(&caller.app, list).await?))
}

/// One incident; a student sees another person's without the reporter.
#[utoipa::path(get, path = "/incidents/{id}", tag = "incidents",
    summary = "One incident",
    security(("session" = [])),
    params(IncidentPath),
    responses(
        (status = 200, description = "The incident.", body = IncidentView),
        IncidentNotFound,
    ))]
async fn one(caller: Caller, Named(id): Named<IncidentId>) -> Result<Json<IncidentView>, ApiError> {
    Ok(Json(caller.app.incident(&caller.user, &id).await?))
}

#[derive(Default, Deserialize, ToSchema)]
struct StatusBody {
    #[serde(rename = "estado")]
    #[schema(value_type = Status, required = true)]
    #[serde(default)]
    status: Field<String>,
    #[serde(rename = "nota")]
    #[schema(value_type = Option<Note>)]
    #[serde(default)]
    note: Field<String>,
    #[schema(value_type = Option<u64>)]
    #[serde(default)]
    version: Field<u64>,
}

/// Moves an incident to another `estado`.
#[utoipa::path(post, path = "/incidents/{id}/status", tag = "incidents",
    summary = "Change the status",
    security(("session" = ["staff"])),
    params(IncidentPath, IdempotencyKeyHeader),
    request_body = inline(StatusBody),
    responses(
        (status = 200, description = "The incident.", body = Incident),
        (status = 400, description = "A bad field (`invalid_estado`, ...).", body = ErrorReply),
        IncidentNotFound,
        (status = 409, description = "A move the lifecycle forbids (`invalid_transition`), a stale `version` (`stale_version`) or a reused idempotency key.", body = ErrorReply),
    ))]
async fn change_status(
    caller: Caller,
    idempotency: Idempotency,
    Named(id): Named<IncidentId>,
    JsonBody(body): JsonBody<StatusBody>,
) -> Result<Json<Incident>, ApiError> {
    let to = Status::parse(&body.status.required("estado")?)?;
    let request = StatusChange {
        to,
        note: body.note.note()?,
        expected_version: body.version.optional("version")?,
    };
    Ok(Json(
        caller
            .app
            .change_status(&caller.user, &id, request, idempotency.key())
            .await?,
    ))
}

#[derive(Default, Deserialize, ToSchema)]
struct CommentBody {
    #[serde(rename = "texto")]
    #[schema(value_type = CommentText, required = true)]
    #[serde(default)]
    text: Field<String>,
}

/// Comments on an incident.
#[utoipa::path(post, path = "/incidents/{id}/comments", tag = "incidents",
    summary = "Comment",
    security(("session" = ["staff"])),
    params(IncidentPath, IdempotencyKeyHeader),
    request_body = inline(CommentBody),
    responses(
        (status = 201, description = "The history event.", body = IncidentEvent),
        (status = 400, description = "A bad `texto`.", body = ErrorReply),
        IncidentNotFound,
        IdempotencyConflict,
    ))]
async fn comment(
    caller: Caller,
    idempotency: Idempotency,
    Named(id): Named<IncidentId>,
    JsonBody(body): JsonBody<CommentBody>,
) -> Result<(StatusCode, Json<IncidentEvent>), ApiError> {
    let text = CommentText::parse(&body.text.required("texto")?)?;
    let event = caller
        .app
        .comment(&caller.user, &id, text, idempotency.key())
        .await?;
    Ok((StatusCode::CREATED, Json(event)))
}

#[derive(Default, Deserialize, ToSchema)]
struct DepartmentBody {
    #[serde(rename = "departamento")]
    #[schema(value_type = DepartmentName, required = true)]
    #[serde(default)]
    department: Field<String>,
}

/// Assigns the incident to a department; admins only.
#[utoipa::path(post, path = "/incidents/{id}/department", tag = "incidents",
    summary = "Assign a department",
    security(("session" = ["admin"])),
    params(IncidentPath, IdempotencyKeyHeader),
    request_body = inline(DepartmentBody),
    responses(
        (status = 200, description = "The incident.", body = Incident),
        (status = 400, description = "A bad `departamento`.", body = ErrorReply),
        (status = 404, description = "No such incident (`incident_not_found`) or department (`department_not_found`).", body = ErrorReply),
        IdempotencyConflict,
    ))]
async fn assign_department(
    caller: Caller,
    idempotency: Idempotency,
    Named(id): Named<IncidentId>,
    JsonBody(body): JsonBody<DepartmentBody>,
) -> Result<Json<Incident>, ApiError> {
    let name = DepartmentName::parse(&body.department.required("departamento")?)?;
    Ok(Json(
        caller
            .app
            .assign_department(&caller.user, &id, name, idempotency.key())
            .await?,
    ))
}

/// Every mail the incident caused and its reports; staff and admin.
#[utoipa::path(get, path = "/incidents/{id}/deliveries", tag = "incidents",
    summary = "Delivery log",
    security(("session" = ["staff"])),
    params(IncidentPath),
    responses(
        (status = 200, description = "Its mails and reports, oldest first.", body = IncidentDeliveries),
        IncidentNotFound,
    ))]
async fn deliveries(
    caller: Caller,
    Named(id): Named<IncidentId>,
) -> Result<Json<IncidentDeliveries>, ApiError> {
    Ok(Json(
        caller.app.incident_deliveries(&caller.user, &id).await?,
    ))
}

/// The incident's history, oldest first, whole; its reporter's part for the reporter.
#[utoipa::path(get, path = "/incidents/{id}/events", tag = "incidents",
    summary = "History",
    description = "Staff and admins read every event. The incident's reporter reads every event but staff comments, each with `actor: null`; another student is refused with 403 (404 while incidents are not public).",
    security(("session" = [])),
    params(IncidentPath),
    responses(
        (status = 200, description = "Its events; `next_cursor` is `null`.", body = Page<EventView>),
        (status = 403, description = "A student who did not report it.", body = ErrorReply),
        IncidentNotFound,
    ))]
async fn history(
    caller: Caller,
    Named(id): Named<IncidentId>,
) -> Result<Json<Page<EventView>>, ApiError> {
    Ok(whole(caller.app.history(&caller.user, &id).await?))
}
