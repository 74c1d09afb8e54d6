//! `/events/ack/{token}`: acknowledging an alert from the link in its mail. Pages, not JSON:
//! a person opens them in a browser. `GET` only shows what the link would do (mail scanners
//! follow links); the form on it `POST`s, which acknowledges.

use alerta_core::domain::Alert;
use alerta_core::notifications::escape_html;
use alerta_core::{AckByLink, AckLinkState};
use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;
use super::error::{ApiError, Reply};
use super::query::PathParams;

#[derive(utoipa::OpenApi)]
#[openapi(paths(show, acknowledge))]
pub(super) struct Api;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/events/ack/{token}", get(show).post(acknowledge))
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title}</title></head>\
         <body><h1>{title}</h1>{body}</body></html>",
        title = escape_html(title),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        html,
    )
        .into_response()
}

fn describe(alert: &Alert) -> String {
    format!(
        "<table><tr><th align=\"left\">source</th><td>{}</td></tr>\
         <tr><th align=\"left\">severity</th><td>{}</td></tr>\
         <tr><th align=\"left\">message</th><td>{}</td></tr>\
         <tr><th align=\"left\">status</th><td>{}</td></tr>\
         <tr><th align=\"left\">id</th><td>{}</td></tr></table>",
        escape_html(alert.source.as_str()),
        escape_html(alert.severity.as_str()),
        escape_html(alert.message.as_str()),
        escape_html(alert.status().as_str()),
        escape_html(alert.id.as_str()),
    )
}

fn used() -> Response {
    page(
        StatusCode::GONE,
        "This link was already used",
        "<p>Each acknowledgement link works once. Nothing was changed now.</p>",
    )
}

fn expired() -> Response {
    page(
        StatusCode::GONE,
        "This link has expired",
        "<p>Nothing was changed. Acknowledge the alert from Alerta instead.</p>",
    )
}

fn invalid() -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "This is not a valid acknowledgement link",
        "<p>The link is incomplete or was changed. Nothing was changed.</p>",
    )
}

/// The `{token}` of both routes, as the document describes it and the handlers read it.
#[derive(utoipa::IntoParams)]
#[into_params(names("token"), parameter_in = Path)]
struct LinkToken(
    /// The signed token from the alert mail.
    String,
);

impl<S: Send + Sync> FromRequestParts<S> for LinkToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let PathParams(token) = PathParams::from_request_parts(parts, state).await?;
        Ok(Self(token))
    }
}

/// The pages of both routes for a link that cannot be used.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Describes the replies; never built.
enum RefusedLink {
    /// A changed or incomplete link (an HTML page).
    #[response(status = 400, content_type = "text/html")]
    Invalid(String),
    /// A used or expired link (an HTML page).
    #[response(status = 410, content_type = "text/html")]
    Gone(String),
}

/// Show an acknowledgement link's page
///
/// An HTML page naming the alert, with a button that posts the link. Changes nothing.
#[utoipa::path(get, path = "/events/ack/{token}", tag = "alerts",
    params(LinkToken),
    responses(
        (status = 200, description = "The page.", content_type = "text/html", body = String),
        RefusedLink,
    ))]
async fn show(State(state): State<AppState>, LinkToken(token): LinkToken) -> Reply<Response> {
    Ok(match state.app.ack_link_state(&token).await? {
        AckLinkState::Usable(alert) => page(
            StatusCode::OK,
            "Acknowledge this alert?",
            &format!(
                "{}<form method=\"post\"><button type=\"submit\">Acknowledge</button></form>",
                describe(&alert)
            ),
        ),
        AckLinkState::Used => used(),
        AckLinkState::Expired => expired(),
        AckLinkState::Invalid => invalid(),
    })
}

/// Acknowledge an alert from its mail
///
/// Acknowledges the alert the link names, once; an HTML page says what happened.
#[utoipa::path(post, path = "/events/ack/{token}", tag = "alerts",
    params(LinkToken),
    responses(
        (status = 200, description = "Acknowledged, or no longer firing (an HTML page).", content_type = "text/html", body = String),
        RefusedLink,
    ))]
async fn acknowledge(
    State(state): State<AppState>,
    LinkToken(token): LinkToken,
) -> Reply<Response> {
    Ok(match state.app.acknowledge_by_link(&token).await? {
        AckByLink::Acknowledged(alert) => {
            page(StatusCode::OK, "Alert acknowledged", &describe(&alert))
        }
        AckByLink::NotFiring(alert) => page(
            StatusCode::OK,
            "Nothing to acknowledge",
            &format!(
                "<p>The alert was no longer firing; nothing was changed.</p>{}",
                describe(&alert)
            ),
        ),
        AckByLink::Used => used(),
        AckByLink::Expired => expired(),
        AckByLink::Invalid => invalid(),
    })
}
