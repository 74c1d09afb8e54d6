//! `/departments`, a department's contact address, and the incidents assigned to one.

use alerta_core::Error;
use alerta_core::domain::{Department, DepartmentName, Email, Incident, Page};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::idempotency::Idempotency;
use super::json::{Field, JsonBody};
use super::openapi::ErrorReply;
use super::openapi_parts::{BadLimit, DepartmentPath, IdempotencyKeyHeader};
use super::query::{Named, PageParams, QueryParams};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/departments", get(list).post(create))
        .route("/departments/{nombre}", put(update))
        .route("/departments/{nombre}/incidents", get(incidents))
}

#[derive(OpenApi)]
#[openapi(paths(list, create, update, incidents))]
pub(super) struct Api;

/// `{items}`: the catalog is small and read whole, so it has no cursor.
#[derive(Serialize, ToSchema)]
struct DepartmentList {
    items: Vec<Department>,
}

/// The department catalog, whole.
#[utoipa::path(get, path = "/departments", tag = "departments",
    summary = "List departments",
    security(("session" = [])),
    responses(
        (status = 200, description = "Every department.", body = DepartmentList),
    ))]
async fn list(caller: Caller) -> Result<Json<DepartmentList>, ApiError> {
    let items = caller.app.departments(&caller.user).await?;
    Ok(Json(DepartmentList { items }))
}

#[derive(Default, Deserialize, ToSchema)]
struct DepartmentBody {
    #[serde(rename = "nombre")]
    #[schema(value_type = DepartmentName, required = true)]
    #[serde(default)]
    name: Field<String>,
    #[schema(value_type = String, required = true)]
    #[serde(default)]
    email: Field<String>,
}

/// Adds a department; admins only.
#[utoipa::path(post, path = "/departments", tag = "departments",
    summary = "Create a department",
    security(("session" = ["admin"])),
    params(IdempotencyKeyHeader),
    request_body = inline(DepartmentBody),
    responses(
        (status = 201, description = "The department.", body = Department),
        (status = 400, description = "A bad `nombre` or `email`.", body = ErrorReply),
        (status = 409, description = "The name is taken (`duplicate`), or a reused idempotency key.", body = ErrorReply),
    ))]
async fn create(
    caller: Caller,
    idempotency: Idempotency,
    JsonBody(body): JsonBody<DepartmentBody>,
) -> Result<(StatusCode, Json<Department>), ApiError> {
    // The core names a bad department name `departamento`, its name on incidents; here the
    // field is `nombre`, and the code should say so.
    let name = DepartmentName::parse(&body.name.required("nombre")?).map_err(|e| match e {
        Error::Invalid { message, .. } => Error::invalid("nombre", message),
        other => other,
    })?;
    let email = Email::parse(&body.email.required("email")?)?;
    let department = caller
        .app
        .create_department(&caller.user, Department { name, email }, idempotency.key())
        .await?;
    Ok((StatusCode::CREATED, Json(department)))
}

#[derive(Default, Deserialize, ToSchema)]
struct ContactBody {
    #[schema(value_type = String, required = true)]
    #[serde(default)]
    email: Field<String>,
}

/// Changes a department's contact address; the name stays.
#[utoipa::path(put, path = "/departments/{nombre}", tag = "departments",
    summary = "Change a department's address",
    security(("session" = ["admin"])),
    params(DepartmentPath),
    request_body = inline(ContactBody),
    responses(
        (status = 200, description = "The department.", body = Department),
        (status = 400, description = "A bad `email`.", body = ErrorReply),
        (status = 404, description = "No such department (`department_not_found`).", body = ErrorReply),
    ))]
async fn update(
    caller: Caller,
    Named(name): Named<DepartmentName>,
    JsonBody(body): JsonBody<ContactBody>,
) -> Result<Json<Department>, ApiError> {
    let email = Email::parse(&body.email.required("email")?)?;
    let department = caller
        .app
        .update_department(&caller.user, Department { name, email })
        .await?;
    Ok(Json(department))
}

/// The incidents assigned to a department.
#[utoipa::path(get, path = "/departments/{nombre}/incidents", tag = "departments",
    summary = "A department's incidents",
    security(("session" = ["staff"])),
    params(DepartmentPath, PageParams),
    responses(
        (status = 200, description = "A page of incidents.", body = Page<Incident>),
        BadLimit,
        (status = 404, description = "No such department (`department_not_found`).", body = ErrorReply),
    ))]
async fn incidents(
    caller: Caller,
    Named(name): Named<DepartmentName>,
    QueryParams(page): QueryParams<PageParams>,
) -> Result<Json<Page<Incident>>, ApiError> {
    let page = page.page()?;
    Ok(Json(
        caller
            .app
            .department_incidents(&caller.user, &name, &page)
            .await?,
    ))
}
