//! `GET /admin/users`, the role and access of an account, `POST /auth/password` and
//! `GET /setup`.

use alerta_core::domain::{Account, Page, Password, Role, SearchText, UserFilter, UserId};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::AppState;
use super::auth::Caller;
use super::error::Reply;
use super::json::{Field, JsonBody};
use super::openapi::ErrorReply;
use super::query::{Named, PageParams, QueryParams, non_empty};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(list))
        .route("/admin/users/{id}/role", post(change_role))
        .route("/admin/users/{id}/disable", post(disable))
        .route("/admin/users/{id}/enable", post(enable))
        .route("/auth/password", post(change_password))
        .route("/setup", get(setup))
}

#[derive(OpenApi)]
#[openapi(paths(list, change_role, disable, enable, change_password, setup))]
pub(super) struct Api;

/// `{user}`, with `disabled`.
#[derive(Serialize, ToSchema)]
struct AccountReply {
    user: Account,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Text in `nombre` or `email`, ignoring case.
    q: Option<String>,
    /// Only accounts of this role.
    #[param(value_type = Option<Role>)]
    rol: Option<String>,
}

/// List accounts
///
/// Every account, by email; admins only.
#[utoipa::path(get, path = "/admin/users", tag = "accounts",
    security(("session" = ["admin"])),
    params(ListParams, PageParams),
    responses((status = 200, description = "A page of accounts.", body = Page<Account>)))]
async fn list(
    caller: Caller,
    QueryParams(params): QueryParams<ListParams>,
    QueryParams(page): QueryParams<PageParams>,
) -> Reply<Json<Page<Account>>> {
    let filter = UserFilter {
        text: non_empty(&params.q).map(SearchText::parse).transpose()?,
        role: non_empty(&params.rol).map(Role::parse).transpose()?,
    };
    let page = page.page()?;
    Ok(Json(
        caller.app.list_users(&caller.user, &filter, &page).await?,
    ))
}

#[derive(Default, Deserialize, ToSchema)]
struct RoleBody {
    #[serde(rename = "rol")]
    #[schema(value_type = Role, required = true)]
    role: Field<String>,
}

/// Change a role
///
/// Changes an account's role; admins only.
#[utoipa::path(post, path = "/admin/users/{id}/role", tag = "accounts",
    security(("session" = ["admin"])),
    params(Named<UserId>),
    request_body = inline(RoleBody),
    responses(
        (status = 200, description = "The account.", body = AccountReply),
        (status = 409, description = "It would leave no enabled admin (`last_admin`).", body = ErrorReply),
    ))]
async fn change_role(
    caller: Caller,
    Named(id): Named<UserId>,
    JsonBody(body): JsonBody<RoleBody>,
) -> Reply<Json<AccountReply>> {
    let role = Role::parse(&body.role.required("rol")?)?;
    let user = caller.app.change_role(&caller.user, &id, role).await?;
    Ok(Json(AccountReply { user }))
}

/// Disable an account
///
/// Disables an account and ends its sessions; admins only.
#[utoipa::path(post, path = "/admin/users/{id}/disable", tag = "accounts",
    security(("session" = ["admin"])),
    params(Named<UserId>),
    responses(
        (status = 200, description = "The account.", body = AccountReply),
        (status = 409, description = "It would leave no enabled admin (`last_admin`).", body = ErrorReply),
    ))]
async fn disable(caller: Caller, Named(id): Named<UserId>) -> Reply<Json<AccountReply>> {
    let user = caller.app.disable_user(&caller.user, &id).await?;
    Ok(Json(AccountReply { user }))
}

/// Enable an account
///
/// Enables an account again; admins only.
#[utoipa::path(post, path = "/admin/users/{id}/enable", tag = "accounts",
    security(("session" = ["admin"])),
    params(Named<UserId>),
    responses((status = 200, description = "The account.", body = AccountReply)))]
async fn enable(caller: Caller, Named(id): Named<UserId>) -> Reply<Json<AccountReply>> {
    let user = caller.app.enable_user(&caller.user, &id).await?;
    Ok(Json(AccountReply { user }))
}

#[derive(Default, Deserialize, ToSchema)]
struct PasswordBody {
    #[schema(value_type = String, required = true)]
    current_password: Field<String>,
    #[schema(value_type = String, required = true, min_length = 8, max_length = 128)]
    new_password: Field<String>,
}

/// Change my password
///
/// Changes the caller's password; their other sessions end.
#[utoipa::path(post, path = "/auth/password", tag = "auth",
    security(("session" = [])),
    request_body = inline(PasswordBody),
    responses(
        (status = 204, description = "Changed."),
        (status = 429, description = "The account is locked after failed logins.", body = ErrorReply),
    ))]
async fn change_password(
    caller: Caller,
    JsonBody(body): JsonBody<PasswordBody>,
) -> Reply<StatusCode> {
    let current = body.current_password.required("current_password")?;
    let new =
        Password::parse(&body.new_password.required("new_password")?).map_err(|e| match e {
            alerta_core::Error::Invalid { message, .. } => {
                alerta_core::Error::invalid("new_password", message)
            }
            other => other,
        })?;
    caller
        .app
        .change_password(&caller.user, &caller.token, &current, new)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `{admin_exists}`
#[derive(Serialize, ToSchema)]
struct Setup {
    admin_exists: bool,
}

/// Whether an admin exists
///
/// Open to anyone: the login page asks it to know whether to say how to make the first
/// admin. It tells no more than that an admin exists.
#[utoipa::path(get, path = "/setup", tag = "auth",
    responses(
        (status = 200, description = "Whether an enabled admin exists.", body = Setup),
        (status = 503, description = "The store is unavailable.", body = ErrorReply),
    ))]
async fn setup(State(state): State<AppState>) -> Reply<Json<Setup>> {
    Ok(Json(Setup {
        admin_exists: state.app.admin_exists().await?,
    }))
}
