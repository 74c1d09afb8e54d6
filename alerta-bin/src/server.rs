//! Starting and stopping the server: HTTP (REST, stream, dashboard), TCP ingestion, mail and
//! the report schedule.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use alerta_adapters::http::open311::{self, Open311Config};
use alerta_adapters::http::{self as http_api, HttpConfig, ListenerConfig, router};
use alerta_adapters::ingest::{CommitObserver, CommitReport, GroupCommit, GroupCommitConfig};
use alerta_adapters::metrics::{self, Metrics, MetricsRoute};
use alerta_adapters::tcp::{self, TcpConfig};
use alerta_adapters::websocket::{self, Hub, HubConfig, WsConfig};
use alerta_core::Alerta;
use alerta_core::dispatch::DispatchTotals;
use alerta_core::domain::{NewUser, Role, SessionToken};
use anyhow::{Context, bail};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::profile;

/// A server that is running.
pub struct Running {
    /// Where the HTTP API, the stream and the dashboard listen (the real port when 0 was
    /// asked for).
    pub http_addr: SocketAddr,
    /// Where TCP ingestion listens.
    pub tcp_addr: SocketAddr,
    /// The application it serves.
    pub app: alerta_core::Alerta,
    /// The broadcast hub of the stream.
    pub hub: Hub,
    stop: watch::Sender<bool>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Asks the server to stop, lets in-flight requests finish, and waits for it.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.task.await.context("the server task panicked")?
    }

    /// Waits until the server stops on its own (after a shutdown signal).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await.context("the server task panicked")?
    }

    /// A handle that stops the server when sent `true`.
    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }
}

/// A broadcaster for commands that serve no subscribers: messages are traced and dropped.
#[derive(Debug, Default)]
pub struct TracingBroadcaster;

#[async_trait::async_trait]
impl alerta_core::ports::Broadcaster for TracingBroadcaster {
    async fn publish(&self, batch: &alerta_core::domain::StreamBatch) -> alerta_core::Result<()> {
        tracing::debug!(
            first = batch.first,
            count = batch.messages.len(),
            "stream messages committed"
        );
        Ok(())
    }
}

/// Removes what the stream log no longer keeps, every ten minutes.
async fn trim_stream(app: alerta_core::Alerta, stop: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(Duration::from_secs(600));
    let stop = stopped(stop);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = every.tick() => match app.trim_stream().await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "stream log trimmed"),
                Err(error) => tracing::warn!(%error, "trimming the stream log failed"),
            },
        }
    }
}

async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// `GET /metrics` with the figures read from this process's components at each scrape.
fn metrics_route(
    config: &Config,
    hub: &Hub,
    ingest: &GroupCommit,
    mail: Arc<DispatchTotals>,
) -> MetricsRoute {
    let instance = config
        .instance
        .clone()
        .unwrap_or_else(|| format!("{}-{}", host_name(), std::process::id()));
    let (hub, ingest) = (hub.clone(), ingest.clone());
    MetricsRoute::new(Metrics::install(&instance)).sample(move || {
        let stats = ingest.stats();
        ::metrics::counter!("alerta_ingest_commits_total").absolute(stats.commits);
        ::metrics::counter!("alerta_ingest_alerts_total").absolute(stats.alerts);
        ::metrics::gauge!("alerta_stream_clients").set(hub.subscriber_count() as f64);
        ::metrics::gauge!("alerta_stream_head").set(hub.head() as f64);
        ::metrics::counter!("alerta_stream_stalled_disconnects_total")
            .absolute(hub.stalled_disconnects());
        ::metrics::counter!("alerta_stream_messages_total").absolute(hub.messages_followed());
        ::metrics::counter!("alerta_stream_deliveries_total").absolute(hub.deliveries());
        ::metrics::counter!("alerta_stream_resumptions_total").absolute(hub.resumptions());
        ::metrics::counter!("alerta_mail_total", "outcome" => "sent").absolute(mail.sent());
        ::metrics::counter!("alerta_mail_total", "outcome" => "retried").absolute(mail.retried());
        ::metrics::counter!("alerta_mail_total", "outcome" => "dead").absolute(mail.dead());
        ::metrics::counter!("alerta_mail_total", "outcome" => "cancelled")
            .absolute(mail.cancelled());
    })
}

/// Batch size, commit time and what was stored, per group commit. Recorded whether or not
/// `/metrics` is served: without a recorder the calls do nothing.
fn record_commit(report: &CommitReport<'_>) {
    ::metrics::histogram!("alerta_ingest_batch_size").record(report.batch as f64);
    ::metrics::histogram!("alerta_ingest_commit_duration_seconds")
        .record(report.elapsed.as_secs_f64());
    if report.stored.is_empty() {
        ::metrics::counter!("alerta_ingest_failed_commits_total").increment(1);
        return;
    }
    // Per channel and severity: a handful of series, counted once per commit.
    let mut counts: std::collections::BTreeMap<(&str, &str), u64> = Default::default();
    for alert in report.stored {
        *counts
            .entry((alert.channel.as_str(), alert.severity.as_str()))
            .or_default() += 1;
    }
    for ((channel, severity), count) in counts {
        ::metrics::counter!(
            "alerta_alerts_ingested_total",
            "channel" => channel.to_owned(),
            "severity" => severity.to_owned()
        )
        .increment(count);
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "alerta".into())
}

/// The Open311 facade's settings, with its account made when missing; `None` without keys.
async fn open311_config(app: &Alerta, config: &Config) -> anyhow::Result<Option<Open311Config>> {
    if config.open311_keys.is_empty() {
        return Ok(None);
    }
    // Nobody logs in as this account, so its password is random and never kept.
    let password = SessionToken::generate();
    let new = NewUser::parse(
        &config.open311_account,
        password.expose(),
        "Open311",
        Role::Student,
    )
    .context("ALERTA_OPEN311_ACCOUNT")?;
    let account = app
        .ensure_user(new)
        .await
        .context("making the Open311 account")?;
    Ok(Some(Open311Config {
        api_keys: config
            .open311_keys
            .iter()
            .map(|k| k.expose().to_owned())
            .collect(),
        account,
        contact: config
            .admin_email
            .clone()
            .unwrap_or_else(|| "the operators of this server".into()),
    }))
}

/// Opens the backends, seeds the configured admin and departments, binds the listeners and
/// starts serving.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    if config.ingest_keys.is_empty() && !config.tcp_addr.ip().is_loopback() {
        bail!(
            "TCP ingestion on {} would accept alerts from anyone: set ALERTA_INGEST_KEYS, or \
             listen on a loopback address",
            config.tcp_addr
        );
    }
    // Bound first, so that links in mail can name the address when no public URL is set.
    let http_listener = TcpListener::bind(config.http_addr)
        .await
        .with_context(|| format!("binding the HTTP address {}", config.http_addr))?;
    let http_addr = http_listener.local_addr()?;
    let mut config = config;
    if config.public_url.is_none() {
        config.public_url = Some(format!("http://{http_addr}"));
    }
    let hub = Hub::new(HubConfig::default());
    let mail_wake = Arc::new(tokio::sync::Notify::new());
    let broadcaster = crate::mail::WakingBroadcaster::new(Arc::new(hub.clone()), mail_wake.clone());
    let app = profile::open(&config, Arc::new(broadcaster)).await?;
    let broker = crate::broker::connect(&config).await?;
    hub.start(app.storage().stream.clone(), broker)
        .await
        .context("starting the stream")?;
    profile::seed(&app, &config).await?;

    let mailer = crate::mail::mailer(&config)?;
    let probed = app.clone();
    let hub_health = hub.clone();
    let mail_probe = Arc::new(crate::health::MailProbe::new(mailer.clone()));
    // The group commit keeps each batch within what the storage stores atomically; TCP and
    // `POST /events` share it.
    let ingest = GroupCommit::spawn(
        app.clone(),
        GroupCommitConfig {
            on_commit: Some(CommitObserver::new(record_commit)),
            ..GroupCommitConfig::default()
        },
    );
    let open311 = open311_config(&app, &config).await?;
    let http = HttpConfig::default()
        .openapi(crate::openapi::document(
            open311.is_some(),
            config.metrics_token.is_some(),
        ))
        .request_timeout(Duration::from_secs(config.request_timeout_s))
        .group_commit(ingest.clone())
        .health_check(move || {
            let app = probed.clone();
            async move { crate::health::check(&app).await }
        })
        .health_details(move || {
            let hub = hub_health.clone();
            let mail = mail_probe.clone();
            async move { crate::health::details(&hub, &mail).await }
        });
    let ws = config
        .allowed_origins
        .iter()
        .fold(WsConfig::default(), |ws, origin| ws.allow_origin(origin));
    let mut routes = router(app.clone(), http)
        .merge(websocket::routes(hub.clone(), app.clone(), ws))
        .merge(crate::dashboard::routes());
    if let Some(open311) = open311 {
        routes = routes.nest("/open311/v2", open311::routes(app.clone(), open311));
    }

    let tcp_listener = TcpListener::bind(config.tcp_addr)
        .await
        .with_context(|| format!("binding the TCP address {}", config.tcp_addr))?;
    let tcp_addr = tcp_listener.local_addr()?;
    let retry = crate::mail::retry_policy(&config);

    let (stop, _) = watch::channel(false);
    tokio::spawn(trim_stream(app.clone(), stop.subscribe()));
    if let Some(head) = hub.head_changes() {
        tokio::spawn(crate::mail::wake_on_stream(
            head,
            mail_wake.clone(),
            stop.subscribe(),
        ));
    }
    let mail_totals = Arc::new(DispatchTotals::default());
    tokio::spawn(crate::mail::dispatch(
        app.storage().outbox.clone(),
        app.storage().alerts.clone(),
        mailer,
        retry,
        mail_wake,
        mail_totals.clone(),
        stop.subscribe(),
    ));
    if let Some(every) = config.report_every {
        tokio::spawn(crate::reports::schedule(
            app.clone(),
            every,
            stop.subscribe(),
        ));
        tracing::info!(every = ?every, "report job scheduled");
    }
    let retention = alerta_core::Retention {
        mail: config.retain_mail,
        alerts: config.retain_alerts,
        ..alerta_core::Retention::default()
    };
    tokio::spawn(crate::retention::schedule(
        app.clone(),
        retention,
        config.retain_every,
        stop.subscribe(),
    ));
    let scrape = metrics_route(&config, &hub, &ingest, mail_totals);
    routes = metrics::track_requests(routes);
    if config.metrics_token.is_some() || config.metrics_addr.is_some() {
        tokio::spawn(crate::backlog::sample(
            app.clone(),
            config.metrics_backlog_every,
            stop.subscribe(),
        ));
    }
    if let Some(token) = &config.metrics_token {
        routes = routes.merge(scrape.clone().token(token.expose()).routes());
    }
    if let Some(addr) = config.metrics_addr {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the metrics address {addr}"))?;
        let scrape_stop = stop.subscribe();
        tokio::spawn(async move {
            let served = axum::serve(listener, scrape.routes())
                .with_graceful_shutdown(stopped(scrape_stop))
                .await;
            if let Err(error) = served {
                tracing::error!(%error, "serving metrics");
            }
        });
    }
    let tcp_config = TcpConfig {
        idle_timeout: config.tcp_idle_timeout,
        max_connections_per_address: config.tcp_max_connections_per_address,
        ..TcpConfig::default()
    };
    let tcp_task = tokio::spawn(tcp::serve_with_shutdown(
        tcp_listener,
        ingest,
        tcp_config,
        stopped(stop.subscribe()),
    ));
    let http_stop = stop.subscribe();
    let listener_config = ListenerConfig {
        header_read_timeout: config.http_header_read_timeout,
        max_connections_per_address: config.http_max_connections_per_address,
        send_buffer: hub.config().send_buffer,
    };
    let hub_on_stop = hub.clone();
    let task = tokio::spawn(async move {
        let served = http_api::serve(http_listener, routes, listener_config, async move {
            stopped(http_stop).await;
            // Upgraded stream connections are not tracked by the HTTP server's graceful
            // shutdown; close them so clients reconnect elsewhere at once.
            hub_on_stop.shutdown();
        })
        .await
        .context("serving HTTP");
        let tcp = tcp_task.await.context("the TCP listener panicked")?;
        served?;
        tcp.context("serving TCP")
    });
    tracing::info!(
        %http_addr,
        %tcp_addr,
        profile = ?config.profile,
        data_dir = %config.data_dir.display(),
        limits = ?app.storage().limits,
        "alerta is serving"
    );
    Ok(Running {
        http_addr,
        tcp_addr,
        app,
        hub,
        stop,
        task,
    })
}
