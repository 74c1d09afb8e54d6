//! `GET /admin/users`, the role and access of an account, `POST /auth/password` and
//! `GET /setup`.

use alerta_core::domain::{Account, Page, Password, Role, SearchText, UserFilter, UserId};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::json::{Field, JsonBody};
use super::query::{PageParams, PathParams, QueryParams, non_empty, path_id};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(list))
        .route("/admin/users/{id}/role", post(change_role))
        .route("/admin/users/{id}/disable", post(disable))
        .route("/admin/users/{id}/enable", post(enable))
        .route("/auth/password", post(change_password))
        .route("/setup", get(setup))
}

/// `{user}`, with `disabled`.
#[derive(Serialize)]
struct AccountReply {
    user: Account,
}

#[derive(Debug, Default, Deserialize)]
struct ListParams {
    q: Option<String>,
    rol: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<ListParams>,
    QueryParams(page): QueryParams<PageParams>,
) -> Result<Json<Page<Account>>, ApiError> {
    let filter = UserFilter {
        text: non_empty(&params.q).map(SearchText::parse).transpose()?,
        role: non_empty(&params.rol).map(Role::parse).transpose()?,
    };
    let page = page.page()?;
    Ok(Json(
        state.app.list_users(&caller.user, &filter, &page).await?,
    ))
}

fn user_id(text: &str) -> Result<UserId, alerta_core::Error> {
    path_id(text, UserId::parse, "user")
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct RoleBody {
    #[serde(rename = "rol")]
    role: Field<String>,
}

async fn change_role(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody<RoleBody>,
) -> Result<Json<AccountReply>, ApiError> {
    let id = user_id(&id)?;
    let role = Role::parse(&body.role.required("rol")?)?;
    let user = state.app.change_role(&caller.user, &id, role).await?;
    Ok(Json(AccountReply { user }))
}

async fn disable(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Json<AccountReply>, ApiError> {
    let user = state.app.disable_user(&caller.user, &user_id(&id)?).await?;
    Ok(Json(AccountReply { user }))
}

async fn enable(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Json<AccountReply>, ApiError> {
    let user = state.app.enable_user(&caller.user, &user_id(&id)?).await?;
    Ok(Json(AccountReply { user }))
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct PasswordBody {
    current_password: Field<String>,
    new_password: Field<String>,
}

async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<PasswordBody>,
) -> Result<StatusCode, ApiError> {
    let current = body.current_password.required("current_password")?;
    let new =
        Password::parse(&body.new_password.required("new_password")?).map_err(|e| match e {
            alerta_core::Error::Invalid { message, .. } => {
                alerta_core::Error::invalid("new_password", message)
            }
            other => other,
        })?;
    state
        .app
        .change_password(&caller.user, &caller.token, &current, new)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `{admin_exists}`
#[derive(Serialize)]
struct Setup {
    admin_exists: bool,
}

/// Open to anyone: the login page asks it to know whether to say how to make the first
/// admin. It tells no more than that an admin exists.
async fn setup(State(state): State<AppState>) -> Result<Json<Setup>, ApiError> {
    Ok(Json(Setup {
        admin_exists: state.app.admin_exists().await?,
    }))
}
