//! `/silences`: admins keep matching alerts from being mailed for a while.

use alerta_core::Error;
use alerta_core::SilenceRequest;
use alerta_core::domain::{
    MatcherParts, Matchers, Page, SilenceComment, SilenceId, SilenceState, SilenceView, Timestamp,
};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::idempotency::Idempotency;
use super::json::{Field, JsonBody, JsonKind};
use super::openapi::ErrorReply;
use super::openapi_parts::{IdempotencyConflict, IdempotencyKeyHeader};
use super::query::{Named, PageParams, QueryParams, non_empty};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/silences", get(list).post(create))
        .route("/silences/{id}", delete(expire))
}

#[derive(OpenApi)]
#[openapi(paths(create, list, expire))]
pub(super) struct Api;

/// One matcher as sent: `{name, value, is_regex}`, `is_regex` false when left out.
#[derive(Deserialize)]
struct MatcherBody {
    name: String,
    value: String,
    #[serde(default)]
    is_regex: bool,
}

/// The matchers as sent; one that is not an object of the right shape makes the whole field
/// mistyped (`invalid_matchers`).
#[derive(Deserialize)]
#[serde(transparent)]
struct MatcherList(Vec<MatcherBody>);

impl JsonKind for MatcherList {
    const NAME: &'static str = "a list of {name, value, is_regex}";
}

#[derive(Default, Deserialize, ToSchema)]
struct SilenceBody {
    /// 1 to 16; all must match.
    #[schema(value_type = Vec<MatcherParts>, required = true, min_items = 1, max_items = 16)]
    #[serde(default)]
    matchers: Field<MatcherList>,
    /// Now when left out.
    #[schema(value_type = Option<Timestamp>)]
    #[serde(default)]
    starts_at: Field<String>,
    #[schema(value_type = Timestamp, required = true)]
    #[serde(default)]
    ends_at: Field<String>,
    #[schema(value_type = SilenceComment, required = true)]
    #[serde(default)]
    comment: Field<String>,
}

/// A time field, named for itself when it is not RFC 3339.
fn time(field: &'static str, text: &str) -> Result<Timestamp, Error> {
    Timestamp::parse_rfc3339(text)
        .map_err(|_| Error::invalid(field, format!("{field} must be an RFC 3339 time")))
}

impl SilenceBody {
    fn request(self) -> Result<SilenceRequest, Error> {
        let matchers = self.matchers.required("matchers")?;
        let matchers = Matchers::parse(
            matchers
                .0
                .iter()
                .map(|m| (m.name.as_str(), m.value.as_str(), m.is_regex)),
        )?;
        let starts_at = self
            .starts_at
            .optional("starts_at")?
            .map(|t| time("starts_at", &t))
            .transpose()?;
        let ends_at = time("ends_at", &self.ends_at.required("ends_at")?)?;
        let comment = SilenceComment::parse(&self.comment.required("comment")?)?;
        Ok(SilenceRequest {
            matchers,
            starts_at,
            ends_at,
            comment,
        })
    }
}

/// Silences matching alerts from `starts_at` to `ends_at`; admins only.
#[utoipa::path(post, path = "/silences", tag = "silences",
    summary = "Create a silence",
    security(("session" = ["admin"])),
    params(IdempotencyKeyHeader),
    request_body = inline(SilenceBody),
    responses(
        (status = 201, description = "The silence.", body = SilenceView),
        (status = 400, description = "A bad field (`invalid_matchers`, `invalid_ends_at`, ...).", body = ErrorReply),
        IdempotencyConflict,
    ))]
async fn create(
    caller: Caller,
    idempotency: Idempotency,
    JsonBody(body): JsonBody<SilenceBody>,
) -> Result<(StatusCode, Json<SilenceView>), ApiError> {
    let request = body.request()?;
    let silence = caller
        .app
        .create_silence(&caller.user, request, idempotency.key())
        .await?;
    Ok((StatusCode::CREATED, Json(silence)))
}

#[derive(Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SilenceQuery {
    /// Only silences in this state now.
    #[param(value_type = Option<SilenceState>)]
    state: Option<String>,
}

/// Silences, newest first; staff and admins.
#[utoipa::path(get, path = "/silences", tag = "silences",
    summary = "List silences",
    security(("session" = ["staff"])),
    params(SilenceQuery, PageParams),
    responses(
        (status = 200, description = "A page of silences.", body = Page<SilenceView>),
        (status = 400, description = "A bad `state` or `limit`.", body = ErrorReply),
    ))]
async fn list(
    caller: Caller,
    QueryParams(query): QueryParams<SilenceQuery>,
    QueryParams(page): QueryParams<PageParams>,
) -> Result<Json<Page<SilenceView>>, ApiError> {
    let silence_state = non_empty(&query.state)
        .map(SilenceState::parse)
        .transpose()?;
    let page = page.page()?;
    Ok(Json(
        caller
            .app
            .silences(&caller.user, silence_state, &page)
            .await?,
    ))
}

/// Expires the silence now; it stays listed, as `expired`.
#[utoipa::path(delete, path = "/silences/{id}", tag = "silences",
    summary = "Expire a silence",
    security(("session" = ["admin"])),
    params(("id" = String, Path, description = "The silence's `id`.")),
    responses(
        (status = 200, description = "The silence, `expired`.", body = SilenceView),
        (status = 404, description = "No such silence (`silence_not_found`).", body = ErrorReply),
    ))]
async fn expire(
    caller: Caller,
    Named(id): Named<SilenceId>,
) -> Result<Json<SilenceView>, ApiError> {
    Ok(Json(caller.app.expire_silence(&caller.user, &id).await?))
}
