//! `GET /ws` as an axum route, to merge with the REST router on the HTTP port.

use std::sync::Arc;

use alerta_core::Alerta;
use alerta_core::domain::Role;
use axum::Router;
use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::TokioIo;
use serde::Deserialize;

use super::upgrade::{self, OriginPolicy, Rejection};
use super::{Hub, SessionProbe, SessionState, Subscription};

/// How the `/ws` route checks requests.
#[derive(Clone, Debug)]
pub struct WsConfig {
    path: String,
    origins: OriginPolicy,
}

impl WsConfig {
    /// Serves the stream at `path` instead of `/ws`.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Also allows browser pages from `origin` (`scheme://host[:port]`; `*` for any). Pages
    /// from the server's own origin, and clients that send no `Origin`, are always allowed.
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.origins = self.origins.allow(origin);
        self
    }

    /// Replaces the origin policy.
    pub fn origins(mut self, origins: OriginPolicy) -> Self {
        self.origins = origins;
        self
    }
}

impl Default for WsConfig {
    fn default() -> Self {
        Self {
            path: "/ws".into(),
            origins: OriginPolicy::same_origin(),
        }
    }
}

struct RouteState {
    hub: Hub,
    app: Alerta,
    origins: OriginPolicy,
}

/// A router with `GET /ws?token=..&topics=..&since=..` that upgrades to the stream of `hub`.
///
/// The token (or an `Authorization: Bearer` header, for clients that can set one) is checked
/// before upgrading: missing or bad is 401, a refused `Origin` is 403, a bad `topics` or
/// `since` is 400, each with the wire error shape. It has no fallback, so it merges into
/// [`crate::http::router`]'s router:
///
/// ```no_run
/// # fn wire(app: alerta_core::Alerta, hub: alerta_adapters::websocket::Hub) -> axum::Router {
/// use alerta_adapters::http::{HttpConfig, router};
/// use alerta_adapters::websocket::{WsConfig, routes};
///
/// router(app.clone(), HttpConfig::default()).merge(routes(hub, app, WsConfig::default()))
/// # }
/// ```
///
/// The server must keep connections upgradable, as `axum::serve` does.
pub fn routes(hub: Hub, app: Alerta, config: WsConfig) -> Router {
    let state = Arc::new(RouteState {
        hub,
        app,
        origins: config.origins,
    });
    Router::new()
        .route(&config.path, get(upgrade_handler))
        .with_state(state)
}

#[derive(Deserialize)]
struct StreamQuery {
    token: Option<String>,
    topics: Option<String>,
    since: Option<String>,
}

async fn upgrade_handler(State(state): State<Arc<RouteState>>, mut request: Request) -> Response {
    // Taken before the checks because the body is not `Sync`, so the request cannot be held
    // across their awaits; dropped unused when a check fails.
    let upgrading = hyper::upgrade::on(&mut request);
    let (parts, _body) = request.into_parts();
    let (accept, subscription) = match check(&state, &parts).await {
        Ok(checked) => checked,
        Err(rejection) => return reject(&rejection),
    };
    let hub = state.hub.clone();
    tokio::spawn(async move {
        match upgrading.await {
            Ok(upgraded) => {
                let ended = hub
                    .serve_upgraded(TokioIo::new(upgraded), subscription)
                    .await;
                tracing::debug!(?ended, "stream subscriber left");
            }
            Err(error) => tracing::debug!(%error, "websocket upgrade did not complete"),
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

async fn check(state: &RouteState, request: &Parts) -> Result<(String, Subscription), Rejection> {
    let accept = upgrade::accept_key(&request.method, &request.headers)?;
    state.origins.check(&request.headers)?;
    let Query(query) = Query::<StreamQuery>::try_from_uri(&request.uri).map_err(|e| Rejection {
        status: 400,
        code: "invalid_query".into(),
        message: e.body_text(),
    })?;
    let token = query
        .token
        .or_else(|| bearer(&request.headers))
        .ok_or_else(|| Rejection::from_error(&alerta_core::Error::Unauthenticated))?;
    let user = state
        .app
        .authenticate(&token)
        .await
        .map_err(|e| Rejection::from_error(&e))?;
    let topics = upgrade::topics(query.topics.as_deref())?;
    let mut subscription = Subscription::new(user.role)
        .topics(&topics)
        .ends_with_session(session_probe(state.app.clone(), token, user.role))
        .public_incidents(state.app.settings().public_incidents)
        .viewer(user.id.clone());
    if let Some(since) = upgrade::since(query.since.as_deref())? {
        subscription = subscription.resume_after(since);
    }
    Ok((accept, subscription))
}

/// Asks the store whether `token` still opens a session of `role`.
fn session_probe(app: Alerta, token: String, role: Role) -> SessionProbe {
    let token: Arc<str> = token.into();
    Arc::new(move || {
        let app = app.clone();
        let token = token.clone();
        Box::pin(async move {
            match app.authenticate(&token).await {
                Ok(user) if user.role == role => SessionState::Holds,
                Ok(_) | Err(alerta_core::Error::Unauthenticated) => SessionState::Ended,
                Err(error) => {
                    tracing::debug!(%error, "checking a stream's session");
                    SessionState::Unknown
                }
            }
        })
    })
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

fn reject(rejection: &Rejection) -> Response {
    let status = StatusCode::from_u16(rejection.status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, axum::Json(rejection.body())).into_response()
}
