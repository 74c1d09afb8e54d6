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
use super::error::Reply;
use super::idempotency::Idempotency;
use super::json::{Created, Field, JsonBody};
use super::openapi::ErrorReply;
use super::writes::Write;

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
    email: Field<String>,
    /// 8 to 128 characters.
    #[schema(value_type = String, required = true, min_length = 8, max_length = 128)]
    password: Field<String>,
    #[serde(rename = "nombre")]
    #[schema(value_type = PersonName, required = true)]
    name: Field<String>,
}

/// Register as a student
///
/// Registration is open to anyone and takes no `Idempotency-Key`: without a caller there is
/// nobody to keep the key for, and a repeat is refused as a duplicate email anyway.
#[utoipa::path(post, path = "/auth/register", tag = "auth",
    request_body = inline(RegisterBody),
    responses(
        (status = 201, description = "The new student.", body = UserReply),
        (status = 409, description = "The email is taken (`duplicate`).", body = ErrorReply),
    ))]
async fn register(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RegisterBody>,
) -> Reply<Created<UserReply>> {
    let new = NewUser::parse(
        &body.email.required("email")?,
        &body.password.required("password")?,
        &body.name.required("nombre")?,
        Role::Student,
    )?;
    let user = state.app.register(new).await?;
    Ok(Created(UserReply { user }))
}

#[derive(Default, Deserialize, ToSchema)]
struct LoginBody {
    #[schema(value_type = String, required = true)]
    email: Field<String>,
    #[schema(value_type = String, required = true)]
    password: Field<String>,
}

/// Log in
///
/// Logs in; failed logins are limited per account and per client address.
#[utoipa::path(post, path = "/auth/login", tag = "auth",
    request_body = inline(LoginBody),
    responses(
        (status = 200, description = "A session token.", body = Login),
        (status = 401, description = "Wrong email or password.", body = ErrorReply),
        (status = 403, description = "The account is disabled.", body = ErrorReply),
        (status = 429, description = "Too many failed logins; see `Retry-After`.", body = ErrorReply),
    ))]
async fn login(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    JsonBody(body): JsonBody<LoginBody>,
) -> Reply<Json<Login>> {
    let email = body.email.required("email")?;
    let password = body.password.required("password")?;
    Ok(Json(state.app.login(&email, &password, client).await?))
}

/// Who am I
///
/// The caller's user; checks the token.
#[utoipa::path(get, path = "/auth/me", tag = "auth",
    security(("session" = [])),
    responses((status = 200, description = "The caller.", body = UserReply)))]
async fn me(caller: Caller) -> Json<UserReply> {
    Json(UserReply { user: caller.user })
}

/// Log out
///
/// Ends the session at once; its streams close within 5 s.
#[utoipa::path(post, path = "/auth/logout", tag = "auth",
    security(("session" = [])),
    responses((status = 204, description = "The token no longer works.")))]
async fn logout(State(state): State<AppState>, caller: Caller) -> Reply<StatusCode> {
    state.app.logout(&caller.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Default, Deserialize, ToSchema)]
struct NewUserBody {
    #[schema(value_type = String, required = true)]
    email: Field<String>,
    #[schema(value_type = String, required = true, min_length = 8, max_length = 128)]
    password: Field<String>,
    #[serde(rename = "nombre")]
    #[schema(value_type = PersonName, required = true)]
    name: Field<String>,
    #[serde(rename = "rol")]
    #[schema(value_type = Role, required = true)]
    role: Field<String>,
}

/// Create an account
///
/// Makes an account of any role; admins only.
#[utoipa::path(post, path = "/admin/users", tag = "accounts",
    security(("session" = ["admin"])),
    params(Idempotency),
    request_body = inline(NewUserBody),
    responses(
        (status = 201, description = "The new user.", body = UserReply),
        (status = 409, description = "The email is taken (`duplicate`).", body = ErrorReply),
    ))]
async fn create_user(caller: Caller, write: Write<NewUserBody>) -> Reply<Created<UserReply>> {
    let email = write.body.email.required("email")?;
    let password = write.body.password.required("password")?;
    let name = write.body.name.required("nombre")?;
    let role = Role::parse(&write.body.role.required("rol")?)?;
    let new = NewUser::parse(&email, &password, &name, role)?;
    let user = caller
        .app
        .create_user(&caller.user, new, write.idempotency.key())
        .await?;
    Ok(Created(UserReply { user }))
}
