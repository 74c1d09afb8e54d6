//! Who is calling: bearer tokens, ingest keys and the client's address.

use std::net::{IpAddr, SocketAddr};

use alerta_core::domain::User;
use alerta_core::{Alerta, Error};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use super::AppState;
use super::error::ApiError;

/// The logged-in user of a request, the token they sent, and the application they call: what
/// a route for signed-in users needs.
pub(crate) struct Caller {
    pub(crate) user: User,
    pub(crate) token: String,
    pub(crate) app: Alerta,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(parts).ok_or(Error::Unauthenticated)?;
        let user = state.app.authenticate(&token).await?;
        Ok(Self {
            user,
            token,
            app: state.app.clone(),
        })
    }
}

/// Who sends an alert: a logged-in user or the holder of an ingest key.
pub(crate) enum AlertCaller {
    User(User),
    IngestKey,
}

impl FromRequestParts<AppState> for AlertCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(parts).ok_or(Error::Unauthenticated)?;
        if state.app.is_ingest_key(&token) {
            return Ok(Self::IngestKey);
        }
        Ok(Self::User(state.app.authenticate(&token).await?))
    }
}

/// The bearer token of a request, if it sent one, for routes that hand it to the core as it
/// is (an ingest key).
pub(crate) struct Bearer(pub(crate) Option<String>);

impl FromRequestParts<AppState> for Bearer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self(bearer_token(parts)))
    }
}

/// The token of an `Authorization: Bearer <token>` header, if there is one.
fn bearer_token(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// The address the request came from: the connection's, when the server was started with
/// connect info, or the last `X-Forwarded-For` entry when the configuration trusts it.
pub(crate) struct ClientIp(pub(crate) Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let forwarded = state
            .trust_forwarded_for
            .then(|| last_forwarded_for(parts))
            .flatten();
        let connected = || {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip())
        };
        Ok(Self(forwarded.or_else(connected)))
    }
}

/// The last address of the last `X-Forwarded-For` header: the one the nearest proxy added.
fn last_forwarded_for(parts: &Parts) -> Option<IpAddr> {
    let header = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()?;
    header
        .to_str()
        .ok()?
        .rsplit(',')
        .next()?
        .trim()
        .parse()
        .ok()
}
