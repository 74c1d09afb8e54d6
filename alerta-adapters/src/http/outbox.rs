//! `/admin/outbox`: operators look at the mail outbox and retry dead mail.

use alerta_core::domain::{MailId, MailState, OutboxMail, Page};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::query::{PageParams, PathParams, QueryParams, non_empty, path_id};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/outbox", get(list))
        .route("/admin/outbox/{id}/retry", post(retry))
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
    let mail_state = non_empty(&query.state).map(MailState::parse).transpose()?;
    let page = page.page()?;
    Ok(Json(
        state.app.outbox(&caller.user, mail_state, &page).await?,
    ))
}

/// Puts a row back to pending, due now; sent mail is refused.
async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Json<OutboxMail>, ApiError> {
    let id = path_id(&id, MailId::parse, "mail")?;
    Ok(Json(state.app.retry_mail(&caller.user, &id).await?))
}
