//! The web app: static files embedded in the binary, plain ES modules with no build step.
//!
//! Students report incidents and follow their own; staff triage, change status, comment,
//! read an incident's deliveries and act on the live alerts (acknowledge, resolve, open an
//! incident); admins also assign departments and manage accounts and the
//! department catalog; everyone can change their password. Every file is served from
//! memory with a content security policy that allows scripts from this origin only.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

/// Scripts only from this origin, nothing inline: a value that slipped past escaping still
/// could not run. `blob:` images are attachments the page fetched with its token.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob:; frame-ancestors 'none'";

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JSON: &str = "application/json";

/// Every file of the app: its path, content type and body.
const FILES: &[(&str, &str, &str)] = &[
    ("/", HTML, include_str!("dashboard/index.html")),
    ("/app.css", CSS, include_str!("dashboard/app.css")),
    ("/ui/app.js", JS, include_str!("dashboard/app.js")),
    ("/ui/api.js", JS, include_str!("dashboard/api.js")),
    ("/ui/dom.js", JS, include_str!("dashboard/dom.js")),
    ("/ui/i18n.js", JS, include_str!("dashboard/i18n.js")),
    (
        "/ui/i18n/es.json",
        JSON,
        include_str!("dashboard/i18n/es.json"),
    ),
    (
        "/ui/i18n/en.json",
        JSON,
        include_str!("dashboard/i18n/en.json"),
    ),
    ("/ui/stream.js", JS, include_str!("dashboard/stream.js")),
    ("/ui/chart.js", JS, include_str!("dashboard/chart.js")),
    ("/ui/student.js", JS, include_str!("dashboard/student.js")),
    ("/ui/staff.js", JS, include_str!("dashboard/staff.js")),
    ("/ui/alerts.js", JS, include_str!("dashboard/alerts.js")),
    ("/ui/admin.js", JS, include_str!("dashboard/admin.js")),
    ("/ui/account.js", JS, include_str!("dashboard/account.js")),
];

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}

/// `GET /` and the app's scripts and style sheet.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    FILES
        .iter()
        .fold(Router::new(), |router, &(path, content_type, body)| {
            router.route(path, get(move || async move { asset(content_type, body) }))
        })
}
