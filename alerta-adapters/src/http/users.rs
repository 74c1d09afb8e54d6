//! `/auth/*` and `POST /admin/users`.

use alerta_core::Login;
use alerta_core::domain::{NewUser, PersonName, Role, User};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::AppState;
use super::auth::{Caller, ClientIp};
use super::error::ApiError;
use super::idempotency::Idempotency;
use super::json::{Field, JsonBody};
use super::openapi::ErrorReply;
use super::openapi_parts::IdempotencyKeyHeader;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/me", get(me))
        .route("/auth/logout", post(logout))
        .route("/admin/users", post(create_user))
}

#[derive(OpenApi)]
#[openapi(paths(register, login, me, logout, create_user))]
pub(super) struct Api;

/// `{user}`
#[derive(Serialize, ToSchema)]
struct UserReply {
    user: User,
}

#[derive(Default, Deserialize, ToSchema)]
struct RegisterBody {
    #[schema(value_type = String, required = true)]
    #[serde(default)]
    email: Field<String>,
    /// 8 to 128 characters.
    #[schema(value_type = String, required = true, min_length = 8, max_length = 128)]
    #[serde(default)]
    password: Field<String>,
    #[serde(rename = "nombre")]
    #[schema(value_type = PersonName, required = true)]
    #[serde(default)]
    name: Field<String>,
}

/// Registration is open to anyone and takes no `Idempotency-Key`: without a caller there is
/// nobody to keep the key for, and a repeat is refused as a duplicate email anyway.
#[utoipa::path(post, path = "/auth/register", tag = "auth",
    summary = "Register as a student",
    request_body = inline(RegisterBody),
    responses(
        (status = 201, description = "The new student.", body = UserReply),
        (status = 400, description = "A bad field (`invalid_email`, `invalid_password`, ...).", body = ErrorReply),
        (status = 409, description = "The email is taken (`duplicate`).", body = ErrorReply),
    ))]
async fn register(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RegisterBody>,
) -> Result<(StatusCode, Json<UserReply>), ApiError> {
    let new = NewUser::parse(
        &body.email.required("email")?,
        &body.password.required("password")?,
        &body.name.required("nombre")?,
        Role::Student,
    )?;
    let user = state.app.register(new).await?;
    Ok((StatusCode::CREATED, Json(UserReply { user })))
}

#[derive(Default, Deserialize, ToSchema)]
struct LoginBody {
    #[schema(value_type = String, required = true)]
    #[serde(default)]
    email: Field<String>,
    #[schema(value_type = String, required = true)]
    #[serde(default)]
    password: Field<String>,
}

/// Logs in; failed logins are limited per account and per client address.
#[utoipa::path(post, path = "/auth/login", tag = "auth",
    summary = "Log in",
    request_body = inline(LoginBody),
    responses(
        (status = 200, description = "A session token.", body = Login),
        (status = 400, description = "A missing field.", body = ErrorReply),
        (status = 401, description = "Wrong email or password.", body = ErrorReply),
        (status = 403, description = "The account is disabled.", body = ErrorReply),
        (status = 429, description = "Too many failed logins; see `Retry-After`.", body = ErrorReply),
    ))]
async fn login(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Json<Login>, ApiError> {
    let email = body.email.required("email")?;
    let password = body.password.required("password")?;
    Ok(Json(state.app.login(&email, &password, client).await?))
}

/// The caller's user; checks the token.
#[utoipa::path(get, path = "/auth/me", tag = "auth",
    summary = "Who am I",
    security(("session" = [])),
    responses(
        (status = 200, description = "The caller.", body = UserReply),
    ))]
async fn me(caller: Caller) -> Json<UserReply> {
    Json(UserReply { user: caller.user })
}

/// Ends the session at once; its streams close within 5 s.
#[utoipa::path(post, path = "/auth/logout", tag = "auth",
    summary = "Log out",
    security(("session" = [])),
    responses(
        (status = 204, description = "The token no longer works."),
    ))]
async fn logout(State(state): State<AppState>, caller: Caller) -> Result<StatusCode, ApiError> {
    state.app.logout(&caller.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Default, Deserialize, ToSchema)]
struct NewUserBody {
    #[schema(value_type = String, required = true)]
    #[serde(default)]
    email: Field<String>,
    #[schema(value_type = String, required = true, min_length = 8, max_length = 128)]
    #[serde(default)]
    password: Field<String>,
    #[serde(rename = "nombre")]
    #[schema(value_type = PersonName, required = true)]
    #[serde(default)]
    name: Field<String>,
    #[serde(rename = "rol")]
    #[schema(value_type = Role, required = true)]
    #[serde(default)]
    role: Field<String>,
}

/// Makes an account of any role; admins only.
#[utoipa::path(post, path = "/admin/users", tag = "accounts",
    summary = "Create an account",
    security(("session" = ["admin"])),
    params(IdempotencyKeyHeader),
    request_body = inline(NewUserBody),
    responses(
        (status = 201, description = "The new user.", body = UserReply),
        (status = 400, description = "A bad field (`invalid_rol`, ...).", body = ErrorReply),
        (status = 409, description = "The email is taken, or the idempotency key was used for another request.", body = ErrorReply),
    ))]
async fn create_user(
    caller: Caller,
    idempotency: Idempotency,
    JsonBody(body): JsonBody<NewUserBody>,
) -> Result<(StatusCode, Json<UserReply>), ApiError> {
    let email = body.email.required("email")?;
    let password = body.password.required("password")?;
    let name = body.name.required("nombre")?;
    let role = Role::parse(&body.role.required("rol")?)?;
    let new = NewUser::parse(&email, &password, &name, role)?;
    let user = caller
        .app
        .create_user(&caller.user, new, idempotency.key())
        .await?;
    Ok((StatusCode::CREATED, Json(UserReply { user })))
}
