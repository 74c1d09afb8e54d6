//! `/silences`: admins keep matching alerts from being mailed for a while.

use alerta_core::Error;
use alerta_core::SilenceRequest;
use alerta_core::domain::{
    MatcherParts, Matchers, Page, SilenceComment, SilenceId, SilenceState, SilenceView, Timestamp,
};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

use super::AppState;
use super::auth::Caller;
use super::error::Reply;
use super::idempotency::Idempotency;
use super::json::{Created, Field, JsonKind};
use super::query::{Named, StatePage};
use super::writes::Write;

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
    matchers: Field<MatcherList>,
    /// Now when left out.
    #[schema(value_type = Option<Timestamp>)]
    starts_at: Field<String>,
    #[schema(value_type = Timestamp, required = true)]
    ends_at: Field<String>,
    #[schema(value_type = SilenceComment, required = true)]
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

/// Create a silence
///
/// Silences matching alerts from `starts_at` to `ends_at`; admins only.
#[utoipa::path(post, path = "/silences", tag = "silences",
    security(("session" = ["admin"])),
    params(Idempotency),
    request_body = inline(SilenceBody),
    responses((status = 201, description = "The silence.", body = SilenceView)))]
async fn create(caller: Caller, write: Write<SilenceBody>) -> Reply<Created<SilenceView>> {
    let request = write.body.request()?;
    let silence = caller
        .app
        .create_silence(&caller.user, request, write.idempotency.key())
        .await?;
    Ok(Created(silence))
}

/// List silences
///
/// Silences, newest first; staff and admins.
#[utoipa::path(get, path = "/silences", tag = "silences",
    security(("session" = ["staff"])),
    params(StatePage<SilenceState>),
    responses((status = 200, description = "A page of silences.", body = Page<SilenceView>)))]
async fn list(caller: Caller, query: StatePage<SilenceState>) -> Reply<Json<Page<SilenceView>>> {
    let StatePage { state, page } = query;
    Ok(Json(caller.app.silences(&caller.user, state, &page).await?))
}

/// Expire a silence
///
/// Expires the silence now; it stays listed, as `expired`.
#[utoipa::path(delete, path = "/silences/{id}", tag = "silences",
    security(("session" = ["admin"])),
    params(Named<SilenceId>),
    responses((status = 200, description = "The silence, `expired`.", body = SilenceView)))]
async fn expire(caller: Caller, Named(id): Named<SilenceId>) -> Reply<Json<SilenceView>> {
    Ok(Json(caller.app.expire_silence(&caller.user, &id).await?))
}
