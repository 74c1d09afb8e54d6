//! `/departments`, a department's contact address, and the incidents assigned to one.

use alerta_core::Error;
use alerta_core::domain::{Department, DepartmentName, Email, Incident, Page};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::idempotency::Idempotency;
use super::json::{Field, JsonBody};
use super::query::{PageParams, PathParams, QueryParams, path_id};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/departments", get(list).post(create))
        .route("/departments/{nombre}", put(update))
        .route("/departments/{nombre}/incidents", get(incidents))
}

/// `{items}`: the catalog is small and read whole, so it has no cursor.
#[derive(Serialize)]
struct DepartmentList {
    items: Vec<Department>,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<DepartmentList>, ApiError> {
    let items = state.app.departments(&caller.user).await?;
    Ok(Json(DepartmentList { items }))
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct DepartmentBody {
    #[serde(rename = "nombre")]
    name: Field<String>,
    email: Field<String>,
}

async fn create(
    State(state): State<AppState>,
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
    let department = state
        .app
        .create_department(&caller.user, Department { name, email }, idempotency.key())
        .await?;
    Ok((StatusCode::CREATED, Json(department)))
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct ContactBody {
    email: Field<String>,
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(name): PathParams<String>,
    JsonBody(body): JsonBody<ContactBody>,
) -> Result<Json<Department>, ApiError> {
    let name = path_id(&name, DepartmentName::parse, "department")?;
    let email = Email::parse(&body.email.required("email")?)?;
    let department = state
        .app
        .update_department(&caller.user, Department { name, email })
        .await?;
    Ok(Json(department))
}

async fn incidents(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(name): PathParams<String>,
    QueryParams(page): QueryParams<PageParams>,
) -> Result<Json<Page<Incident>>, ApiError> {
    let name = path_id(&name, DepartmentName::parse, "department")?;
    let page = page.page()?;
    Ok(Json(
        state
            .app
            .department_incidents(&caller.user, &name, &page)
            .await?,
    ))
}
