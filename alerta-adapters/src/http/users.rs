//! `/auth/*` and `POST /admin/users`.

use alerta_core::Login;
use alerta_core::domain::{NewUser, Role, User};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::{Caller, ClientIp};
use super::error::ApiError;
use super::idempotency::Idempotency;
use super::json::{Field, JsonBody};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/me", get(me))
        .route("/auth/logout", post(logout))
        .route("/admin/users", post(create_user))
}

/// `{user}`
#[derive(Serialize)]
struct UserReply {
    user: User,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct RegisterBody {
    email: Field<String>,
    password: Field<String>,
    #[serde(rename = "nombre")]
    name: Field<String>,
}

/// Registration is open to anyone and takes no `Idempotency-Key`: without a caller there is
/// nobody to keep the key for, and a repeat is refused as a duplicate email anyway.
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

#[derive(Default, Deserialize)]
#[serde(default)]
struct LoginBody {
    email: Field<String>,
    password: Field<String>,
}

async fn login(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Json<Login>, ApiError> {
    let email = body.email.required("email")?;
    let password = body.password.required("password")?;
    Ok(Json(state.app.login(&email, &password, client).await?))
}

async fn me(caller: Caller) -> Json<UserReply> {
    Json(UserReply { user: caller.user })
}

async fn logout(State(state): State<AppState>, caller: Caller) -> Result<StatusCode, ApiError> {
    state.app.logout(&caller.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct NewUserBody {
    email: Field<String>,
    password: Field<String>,
    #[serde(rename = "nombre")]
    name: Field<String>,
    #[serde(rename = "rol")]
    role: Field<String>,
}

async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    idempotency: Idempotency,
    JsonBody(body): JsonBody<NewUserBody>,
) -> Result<(StatusCode, Json<UserReply>), ApiError> {
    let email = body.email.required("email")?;
    let password = body.password.required("password")?;
    let name = body.name.required("nombre")?;
    let role = Role::parse(&body.role.required("rol")?)?;
    let new = NewUser::parse(&email, &password, &name, role)?;
    let user = state
        .app
        .create_user(&caller.user, new, idempotency.key())
        .await?;
    Ok((StatusCode::CREATED, Json(UserReply { user })))
}
