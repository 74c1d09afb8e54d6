//! `/departments`, a department's contact address, and the incidents assigned to one.

use alerta_core::Error;
use alerta_core::domain::{Department, DepartmentName, Email, Incident, Page};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::AppState;
use super::auth::Caller;
use super::error::Reply;
use super::idempotency::Idempotency;
use super::json::{Created, Field, JsonBody};
use super::openapi::ErrorReply;
use super::query::{Named, Paged};
use super::writes::Write;

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

/// List departments
///
/// The department catalog, whole.
#[utoipa::path(get, path = "/departments", tag = "departments",
    security(("session" = [])),
    responses((status = 200, description = "Every department.", body = DepartmentList)))]
async fn list(caller: Caller) -> Reply<Json<DepartmentList>> {
    let items = caller.app.departments(&caller.user).await?;
    Ok(Json(DepartmentList { items }))
}

#[derive(Default, Deserialize, ToSchema)]
struct DepartmentBody {
    #[serde(rename = "nombre")]
    #[schema(value_type = DepartmentName, required = true)]
    name: Field<String>,
    #[schema(value_type = String, required = true)]
    email: Field<String>,
}

impl DepartmentBody {
    fn department(self) -> Result<Department, Error> {
        // The core names a bad department name `departamento`, its name on incidents; here
        // the field is `nombre`, and the code should say so.
        let name = DepartmentName::parse(&self.name.required("nombre")?).map_err(|e| match e {
            Error::Invalid { message, .. } => Error::invalid("nombre", message),
            other => other,
        })?;
        let email = Email::parse(&self.email.required("email")?)?;
        Ok(Department { name, email })
    }
}

/// Create a department
///
/// Adds a department; admins only.
#[utoipa::path(post, path = "/departments", tag = "departments",
    security(("session" = ["admin"])),
    params(Idempotency),
    request_body = inline(DepartmentBody),
    responses(
        (status = 201, description = "The department.", body = Department),
        (status = 409, description = "The name is taken (`duplicate`).", body = ErrorReply),
    ))]
async fn create(caller: Caller, write: Write<DepartmentBody>) -> Reply<Created<Department>> {
    let department = write.body.department()?;
    let key = write.idempotency.key();
    let created = caller.app.create_department(&caller.user, department, key);
    Ok(Created(created.await?))
}

#[derive(Default, Deserialize, ToSchema)]
struct ContactBody {
    #[schema(value_type = String, required = true)]
    email: Field<String>,
}

/// Change a department's address
///
/// Changes a department's contact address; the name stays.
#[utoipa::path(put, path = "/departments/{nombre}", tag = "departments",
    security(("session" = ["admin"])),
    params(Named<DepartmentName>),
    request_body = inline(ContactBody),
    responses((status = 200, description = "The department.", body = Department)))]
async fn update(
    caller: Caller,
    Named(name): Named<DepartmentName>,
    JsonBody(body): JsonBody<ContactBody>,
) -> Reply<Json<Department>> {
    let email = Email::parse(&body.email.required("email")?)?;
    let department = caller
        .app
        .update_department(&caller.user, Department { name, email })
        .await?;
    Ok(Json(department))
}

/// A department's incidents
///
/// The incidents assigned to a department.
#[utoipa::path(get, path = "/departments/{nombre}/incidents", tag = "departments",
    security(("session" = ["staff"])),
    params(Named<DepartmentName>, Paged),
    responses((status = 200, description = "A page of incidents.", body = Page<Incident>)))]
async fn incidents(
    caller: Caller,
    Named(name): Named<DepartmentName>,
    Paged(page): Paged,
) -> Reply<Json<Page<Incident>>> {
    let incidents = caller.app.department_incidents(&caller.user, &name, &page);
    Ok(Json(incidents.await?))
}
