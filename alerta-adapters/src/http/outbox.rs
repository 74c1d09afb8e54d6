//! `/admin/outbox`: operators look at the mail outbox and retry dead mail.

use alerta_core::domain::{MailId, MailState, OutboxMail, Page};
use axum::routing::{get, post};
use axum::{Json, Router};
use utoipa::OpenApi;

use super::AppState;
use super::auth::Caller;
use super::error::Reply;
use super::openapi::ErrorReply;
use super::query::{Named, StatePage};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/outbox", get(list))
        .route("/admin/outbox/{id}/retry", post(retry))
}

#[derive(OpenApi)]
#[openapi(paths(list, retry))]
pub(super) struct Api;

/// List the outbox
///
/// The mail outbox, newest first; admins only.
#[utoipa::path(get, path = "/admin/outbox", tag = "outbox",
    security(("session" = ["admin"])),
    params(StatePage<MailState>),
    responses((status = 200, description = "A page of outbox rows.", body = Page<OutboxMail>)))]
async fn list(caller: Caller, query: StatePage<MailState>) -> Reply<Json<Page<OutboxMail>>> {
    let StatePage { state, page } = query;
    Ok(Json(caller.app.outbox(&caller.user, state, &page).await?))
}

/// Retry a mail
///
/// Puts a row back to pending, due now; sent mail is refused.
#[utoipa::path(post, path = "/admin/outbox/{id}/retry", tag = "outbox",
    security(("session" = ["admin"])),
    params(Named<MailId>),
    responses(
        (status = 200, description = "The row, pending again.", body = OutboxMail),
        (status = 409, description = "The mail was sent (`already_sent`).", body = ErrorReply),
    ))]
async fn retry(caller: Caller, Named(id): Named<MailId>) -> Reply<Json<OutboxMail>> {
    Ok(Json(caller.app.retry_mail(&caller.user, &id).await?))
}
