//! `/admin/outbox`: operators look at the mail outbox and retry dead mail.

use alerta_core::Error;
use alerta_core::domain::{MailId, MailState, OutboxMail, Page, Role, User};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::query::{PageParams, PathParams, QueryParams, non_empty};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/outbox", get(list))
        .route("/admin/outbox/{id}/retry", post(retry))
}

/// The core has no use case for the outbox, which only the storage port reaches; the check it
/// would make is made here.
fn require_admin(user: &User) -> Result<(), Error> {
    if user.role == Role::Admin {
        Ok(())
    } else {
        Err(Error::Forbidden("admin role required"))
    }
}

#[derive(Default, Deserialize)]
struct OutboxQuery {
    state: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<OutboxQuery>,
    QueryParams(page): QueryParams<PageParams>,
) -> Result<Json<Page<OutboxMail>>, ApiError> {
    require_admin(&caller.user)?;
    let mail_state = non_empty(&query.state).map(MailState::parse).transpose()?;
    let page = page.page()?;
    Ok(Json(
        state.app.storage().outbox.mails(mail_state, &page).await?,
    ))
}

/// Puts a row back to pending, due now. Sent mail is refused: sending it again would deliver
/// the same message twice.
async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Json<OutboxMail>, ApiError> {
    require_admin(&caller.user)?;
    let id = MailId::parse(&id)?;
    let outbox = &state.app.storage().outbox;
    let mail = outbox.mail(&id).await?.ok_or(Error::NotFound("mail"))?;
    if mail.state == MailState::Sent {
        return Err(Error::conflict("already_sent", "this mail was already sent").into());
    }
    outbox.requeue(&id, state.app.clock().now()).await?;
    let mail = outbox.mail(&id).await?.ok_or(Error::NotFound("mail"))?;
    Ok(Json(mail))
}
