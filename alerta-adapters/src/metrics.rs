//! `GET /metrics` in the Prometheus text format, and the layer that measures HTTP requests.
//!
//! Series kept as requests happen: `alerta_http_requests_total{method, route, status}` and
//! `alerta_http_request_duration_seconds{method, route}` (a histogram; `route` is the route's
//! pattern, such as `/incidents/:id`, so ids never become labels). Anything else a process
//! knows as a running count (stream clients, group commits) is set by a sampler that runs at
//! each scrape: see [`MetricsRoute::sample`]. Every series carries the label `instance`, so
//! that the figures of several instances add up in Prometheus.
//!
//! ```no_run
//! # fn wire(api: axum::Router) -> axum::Router {
//! use alerta_adapters::metrics::{Metrics, MetricsRoute, track_requests};
//!
//! let metrics = Metrics::install("instance-a");
//! let api = track_requests(api);
//! api.merge(MetricsRoute::new(metrics).token("scrape-secret").routes())
//! # }
//! ```

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use alerta_core::domain::hex_sha256;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// The bounds of the request duration histogram, in seconds.
const DURATION_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The bounds of the group-commit batch size histogram, in alerts.
const BATCH_BUCKETS: [f64; 11] = [
    1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0,
];

/// The process's Prometheus recorder. Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
}

static INSTALLED: OnceLock<Metrics> = OnceLock::new();

impl Metrics {
    /// Installs the process-wide recorder with `instance` as a label on every series; later
    /// calls return the same recorder (and keep the first label), since a process has one.
    pub fn install(instance: &str) -> Metrics {
        INSTALLED
            .get_or_init(|| {
                let recorder = PrometheusBuilder::new()
                    .add_global_label("instance", instance)
                    .set_buckets_for_metric(
                        metrics_exporter_prometheus::Matcher::Full(
                            "alerta_http_request_duration_seconds".into(),
                        ),
                        &DURATION_BUCKETS,
                    )
                    .and_then(|builder| {
                        builder.set_buckets_for_metric(
                            metrics_exporter_prometheus::Matcher::Full(
                                "alerta_ingest_commit_duration_seconds".into(),
                            ),
                            &DURATION_BUCKETS,
                        )
                    })
                    .and_then(|builder| {
                        builder.set_buckets_for_metric(
                            metrics_exporter_prometheus::Matcher::Full(
                                "alerta_ingest_batch_size".into(),
                            ),
                            &BATCH_BUCKETS,
                        )
                    })
                    .expect("the buckets are not empty")
                    .build_recorder();
                let handle = recorder.handle();
                // Another recorder installed by the embedding program wins; ours still renders
                // what it was given, which is nothing, rather than failing the start.
                if let Err(error) = metrics::set_global_recorder(recorder) {
                    tracing::warn!(%error, "a metrics recorder was already installed");
                }
                metrics::gauge!("alerta_build_info", "version" => env!("CARGO_PKG_VERSION"))
                    .set(1.0);
                Metrics { handle }
            })
            .clone()
    }

    /// Every series in the Prometheus text format.
    pub fn render(&self) -> String {
        self.handle.render()
    }
}

/// Wraps every route of `router` so that its requests are counted and timed.
pub fn track_requests<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router.layer(middleware::from_fn(record_request))
}

async fn record_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    // Unmatched paths share one label, so that scanning for URLs cannot grow the series.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| route_label(p.as_str()));
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(
        "alerta_http_requests_total",
        "method" => method.clone(),
        "route" => route.clone(),
        "status" => status
    )
    .increment(1);
    metrics::histogram!(
        "alerta_http_request_duration_seconds",
        "method" => method,
        "route" => route
    )
    .record(started.elapsed().as_secs_f64());
    response
}

/// A route pattern as a label, its parameters written `:id` rather than `{id}`: braces in
/// label values are valid, but some text-format parsers drop the lines that carry them.
fn route_label(pattern: &str) -> String {
    pattern.replace('{', ":").replace('}', "")
}

type Sampler = Arc<dyn Fn() + Send + Sync>;

/// The `GET /metrics` route: who may scrape it, and what is sampled at each scrape.
#[derive(Clone)]
pub struct MetricsRoute {
    metrics: Metrics,
    /// The hash of the token scrapers must send, so that a comparison takes the same time
    /// however much of the token a guess got right.
    token_hash: Option<String>,
    sampler: Option<Sampler>,
}

impl MetricsRoute {
    /// A route open to anyone who can reach it: for a listener on a private address.
    pub fn new(metrics: Metrics) -> Self {
        Self {
            metrics,
            token_hash: None,
            sampler: None,
        }
    }

    /// Requires `Authorization: Bearer <token>`; other requests are 401.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token_hash = Some(hex_sha256(token.into().as_bytes()));
        self
    }

    /// Runs `sample` before each scrape, to set the gauges and counters read from running
    /// components (with `metrics::gauge!(..).set(..)`, `metrics::counter!(..).absolute(..)`).
    pub fn sample(mut self, sample: impl Fn() + Send + Sync + 'static) -> Self {
        self.sampler = Some(Arc::new(sample));
        self
    }

    /// `GET /metrics`, without a fallback, to merge into a router.
    pub fn routes(self) -> Router {
        Router::new()
            .route("/metrics", get(scrape))
            .with_state(Arc::new(self))
    }
}

async fn scrape(State(route): State<Arc<MetricsRoute>>, headers: HeaderMap) -> Response {
    if let Some(expected) = &route.token_hash {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|token| hex_sha256(token.as_bytes()));
        if given.as_ref() != Some(expected) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "a bearer token is required\n",
            )
                .into_response();
        }
    }
    if let Some(sample) = &route.sampler {
        sample();
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        route.metrics.render(),
    )
        .into_response()
}
