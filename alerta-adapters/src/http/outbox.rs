//! `/admin/outbox`: operators look at the mail outbox and retry dead mail.

use alerta_core::domain::{MailId, MailState, OutboxMail, Page};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::openapi::ErrorReply;

use super::query::{Named, PageParams, QueryParams, non_empty};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/outbox", get(list))
        .route("/admin/outbox/{id}/retry", post(retry))
}

#[derive(OpenApi)]
#[openapi(paths(list, retry))]
pub(super) struct Api;

#[derive(Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct OutboxQuery {
    /// Only rows in this state.
    #[param(value_type = Option<MailState>)]
    state: Option<String>,
}

/// The mail outbox, newest first; admins only.
#[utoipa::path(get, path = "/admin/outbox", tag = "outbox",
    summary = "List the outbox",
    security(("session" = ["admin"])),
    params(OutboxQuery, PageParams),
    responses(
        (status = 200, description = "A page of outbox rows.", body = Page<OutboxMail>),
        (status = 400, description = "A bad `state` or `limit`.", body = ErrorReply),
    ))]
async fn list(
    caller: Caller,
    QueryParams(query): QueryParams<OutboxQuery>,
    QueryParams(page): QueryParams<PageParams>,
) -> Result<Json<Page<OutboxMail>>, ApiError> {
    let mail_state = non_empty(&query.state).map(MailState::parse).transpose()?;
    let page = page.page()?;
    Ok(Json(
        caller.app.outbox(&caller.user, mail_state, &page).await?,
    ))
}

/// Puts a row back to pending, due now; sent mail is refused.
#[utoipa::path(post, path = "/admin/outbox/{id}/retry", tag = "outbox",
    summary = "Retry a mail",
    security(("session" = ["admin"])),
    params(("id" = String, Path, description = "The row's `id`.")),
    responses(
        (status = 200, description = "The row, pending again.", body = OutboxMail),
        (status = 404, description = "No such row (`mail_not_found`).", body = ErrorReply),
        (status = 409, description = "The mail was sent (`already_sent`).", body = ErrorReply),
    ))]
async fn retry(caller: Caller, Named(id): Named<MailId>) -> Result<Json<OutboxMail>, ApiError> {
    Ok(Json(caller.app.retry_mail(&caller.user, &id).await?))
}
