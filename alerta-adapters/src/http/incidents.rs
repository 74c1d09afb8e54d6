//! `/incidents` and the changes of one incident (status, comments, department, history).

use alerta_core::domain::{
    CommentText, DepartmentName, Description, EventView, Incident, IncidentDeliveries,
    IncidentEvent, IncidentFilter, IncidentId, IncidentType, IncidentView, Location, Note, Page,
    SearchText, Status, Timeline, Urgency,
};
use alerta_core::{Alerta, Error, IncidentDraft, LocationCheck, Preview, StatusChange};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::AppState;
use super::auth::Caller;
use super::error::{ApiError, Reply};
use super::idempotency::Idempotency;
use super::json::{Created, Field, JsonBody};
use super::listing::{Listed, listed, whole};
use super::openapi::ErrorReply;
use super::query::{Named, PageParams, Paged, QueryParams, non_empty};
use super::writes::{Change, Write};

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
    kind: Field<String>,
    #[serde(rename = "descripcion")]
    #[schema(value_type = Description, required = true)]
    description: Field<String>,
    #[serde(rename = "ubicacion")]
    #[schema(value_type = Location, required = true)]
    location: Field<String>,
    #[serde(rename = "urgencia")]
    #[schema(value_type = Urgency, required = true)]
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

/// Report an incident
///
/// Reports an incident, `estado` = `pendiente`.
#[utoipa::path(post, path = "/incidents", tag = "incidents",
    security(("session" = [])),
    params(Idempotency),
    request_body = inline(DraftBody),
    responses((status = 201, description = "The incident.", body = Incident)))]
async fn report(
    State(state): State<AppState>,
    caller: Caller,
    write: Write<DraftBody>,
) -> Reply<Created<Incident>> {
    let draft = write.body.parse(&state)?;
    let incident = state
        .app
        .report_incident(&caller.user, draft, write.idempotency.key())
        .await?;
    Ok(Created(incident))
}

/// Preview a report
///
/// The incident as it would be stored, and what looks wrong; nothing is stored.
#[utoipa::path(post, path = "/incidents/preview", tag = "incidents",
    security(("session" = [])),
    request_body = inline(DraftBody),
    responses((status = 200, description = "The incident it would be, and warnings.", body = Preview)))]
async fn preview(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<DraftBody>,
) -> Reply<Json<Preview>> {
    let draft = body.parse(&state)?;
    Ok(Json(state.app.preview_incident(&caller.user, draft)))
}

#[derive(Default, Deserialize, ToSchema)]
struct LocationBody {
    #[serde(rename = "ubicacion")]
    #[schema(value_type = Location, required = true)]
    location: Field<String>,
}

/// Check a location
///
/// Checks a location against the configured campus locations.
#[utoipa::path(post, path = "/incidents/validate-location", tag = "incidents",
    security(("session" = [])),
    request_body = inline(LocationBody),
    responses((status = 200, description = "Whether it is known, and suggestions.", body = LocationCheck)))]
async fn validate_location(
    State(state): State<AppState>,
    _caller: Caller,
    JsonBody(body): JsonBody<LocationBody>,
) -> Reply<Json<LocationCheck>> {
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

/// List incidents
///
/// Incidents, newest first; a student sees others' without the reporter.
#[utoipa::path(get, path = "/incidents", tag = "incidents",
    security(("session" = [])),
    params(IncidentQuery, PageParams),
    responses((status = 200, description = "A page of incidents and the stream head.", body = Listed<IncidentView>)))]
async fn list(
    caller: Caller,
    QueryParams(filters): QueryParams<IncidentQuery>,
    QueryParams(page): QueryParams<PageParams>,
) -> Reply<Json<Listed<IncidentView>>> {
    let filter = filters.filter(&caller.app)?;
    let page = page.page()?;
    let list = caller.app.list_incidents(&caller.user, &filter, &page);
    Ok(Json(listed(&caller.app, list).await?))
}

/// My incidents
///
/// The caller's own incidents, newest first.
#[utoipa::path(get, path = "/incidents/mine", tag = "incidents",
    security(("session" = [])),
    params(Paged),
    responses((status = 200, description = "A page of incidents and the stream head.", body = Listed<Incident>)))]
async fn mine(caller: Caller, Paged(page): Paged) -> Reply<Json<Listed<Incident>>> {
    let list = caller.app.my_incidents(&caller.user, &page);
    Ok(Json(listed(&caller.app, list).await?))
}

/// My incidents with their histories
///
/// What `GET /incidents/mine` lists, each with its history as `GET /incidents/{id}/events`
/// gives it to the caller (for a student, every event but staff comments, each with
/// `actor: null`): a reporter's page in one request.
#[utoipa::path(get, path = "/incidents/mine/timelines", tag = "incidents",
    security(("session" = [])),
    params(Paged),
    responses((status = 200, description = "A page of the caller's incidents with their histories, and the stream head.", body = Listed<Timeline>)))]
async fn my_timelines(caller: Caller, Paged(page): Paged) -> Reply<Json<Listed<Timeline>>> {
    let list = caller.app.my_timelines(&caller.user, &page);
    Ok(Json(listed(&caller.app, list).await?))
}

/// One incident
///
/// One incident; a student sees another person's without the reporter.
#[utoipa::path(get, path = "/incidents/{id}", tag = "incidents",
    security(("session" = [])),
    params(Named<IncidentId>),
    responses((status = 200, description = "The incident.", body = IncidentView)))]
async fn one(caller: Caller, Named(id): Named<IncidentId>) -> Reply<Json<IncidentView>> {
    Ok(Json(caller.app.incident(&caller.user, &id).await?))
}

#[derive(Default, Deserialize, ToSchema)]
struct StatusBody {
    #[serde(rename = "estado")]
    #[schema(value_type = Status, required = true)]
    status: Field<String>,
    #[serde(rename = "nota")]
    #[schema(value_type = Option<Note>)]
    note: Field<String>,
    #[schema(value_type = Option<u64>)]
    version: Field<u64>,
}

impl StatusBody {
    fn request(self) -> Result<StatusChange, Error> {
        Ok(StatusChange {
            to: Status::parse(&self.status.required("estado")?)?,
            note: self.note.note()?,
            expected_version: self.version.optional("version")?,
        })
    }
}

/// Change the status
///
/// Moves an incident to another `estado`.
#[utoipa::path(post, path = "/incidents/{id}/status", tag = "incidents",
    security(("session" = ["staff"])),
    params(Named<IncidentId>, Idempotency),
    request_body = inline(StatusBody),
    responses(
        (status = 200, description = "The incident.", body = Incident),
        (status = 409, description = "A move the lifecycle forbids (`invalid_transition`) or a stale `version` (`stale_version`).", body = ErrorReply),
    ))]
async fn change_status(
    caller: Caller,
    change: Change<IncidentId, StatusBody>,
) -> Reply<Json<Incident>> {
    let request = change.body.request()?;
    let key = change.idempotency.key();
    let changed = caller
        .app
        .change_status(&caller.user, &change.id, request, key);
    Ok(Json(changed.await?))
}

#[derive(Default, Deserialize, ToSchema)]
struct CommentBody {
    #[serde(rename = "texto")]
    #[schema(value_type = CommentText, required = true)]
    text: Field<String>,
}

/// Comment
///
/// Comments on an incident.
#[utoipa::path(post, path = "/incidents/{id}/comments", tag = "incidents",
    security(("session" = ["staff"])),
    params(Named<IncidentId>, Idempotency),
    request_body = inline(CommentBody),
    responses((status = 201, description = "The history event.", body = IncidentEvent)))]
async fn comment(
    caller: Caller,
    change: Change<IncidentId, CommentBody>,
) -> Reply<Created<IncidentEvent>> {
    let text = CommentText::parse(&change.body.text.required("texto")?)?;
    let event = caller
        .app
        .comment(&caller.user, &change.id, text, change.idempotency.key())
        .await?;
    Ok(Created(event))
}

#[derive(Default, Deserialize, ToSchema)]
struct DepartmentBody {
    #[serde(rename = "departamento")]
    #[schema(value_type = DepartmentName, required = true)]
    department: Field<String>,
}

/// Assign a department
///
/// Assigns the incident to a department; admins only.
#[utoipa::path(post, path = "/incidents/{id}/department", tag = "incidents",
    security(("session" = ["admin"])),
    params(Named<IncidentId>, Idempotency),
    request_body = inline(DepartmentBody),
    responses(
        (status = 200, description = "The incident.", body = Incident),
        (status = 404, description = "No such incident (`incident_not_found`) or department (`department_not_found`).", body = ErrorReply),
    ))]
async fn assign_department(
    caller: Caller,
    change: Change<IncidentId, DepartmentBody>,
) -> Reply<Json<Incident>> {
    let name = DepartmentName::parse(&change.body.department.required("departamento")?)?;
    let key = change.idempotency.key();
    let assigned = caller
        .app
        .assign_department(&caller.user, &change.id, name, key);
    Ok(Json(assigned.await?))
}

/// Delivery log
///
/// Every mail the incident caused and its reports; staff and admin.
#[utoipa::path(get, path = "/incidents/{id}/deliveries", tag = "incidents",
    security(("session" = ["staff"])),
    params(Named<IncidentId>),
    responses((status = 200, description = "Its mails and reports, oldest first.", body = IncidentDeliveries)))]
async fn deliveries(
    caller: Caller,
    Named(id): Named<IncidentId>,
) -> Reply<Json<IncidentDeliveries>> {
    Ok(Json(
        caller.app.incident_deliveries(&caller.user, &id).await?,
    ))
}

/// History
///
/// The incident's history, oldest first. Staff and admins read every event. The incident's
/// reporter reads every event but staff comments, each with `actor: null`; another student is
/// refused with 403 (404 while incidents are not public).
#[utoipa::path(get, path = "/incidents/{id}/events", tag = "incidents",
    security(("session" = [])),
    params(Named<IncidentId>),
    responses(
        (status = 200, description = "Its events; `next_cursor` is `null`.", body = Page<EventView>),
        (status = 403, description = "A student who did not report it.", body = ErrorReply),
    ))]
async fn history(caller: Caller, Named(id): Named<IncidentId>) -> Reply<Json<Page<EventView>>> {
    Ok(whole(caller.app.history(&caller.user, &id).await?))
}
