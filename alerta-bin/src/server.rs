//! Starting and stopping the server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use alerta_adapters::http::{HttpConfig, router};
use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::profile;

/// A server that is running.
pub struct Running {
    /// Where the HTTP API listens (the real port when 0 was asked for).
    pub http_addr: SocketAddr,
    /// The application it serves.
    pub app: alerta_core::Alerta,
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

/// A broadcaster for a server with no live subscribers: messages are traced and dropped.
#[derive(Debug, Default)]
pub struct TracingBroadcaster;

#[async_trait::async_trait]
impl alerta_core::ports::Broadcaster for TracingBroadcaster {
    async fn publish(
        &self,
        message: &alerta_core::domain::StreamMessage,
    ) -> alerta_core::Result<()> {
        tracing::debug!(stream_id = %message.id, kind = ?message.kind, "stream message");
        Ok(())
    }
}

/// Opens the backends, seeds the configured admin and departments, binds the listeners and
/// starts serving.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    let backends = profile::open(&config, Arc::new(TracingBroadcaster)).await?;
    profile::seed(&backends.app, &config).await?;
    let storage = backends.app.storage().clone();
    let http = HttpConfig::default()
        .request_timeout(Duration::from_secs(config.request_timeout_s))
        .health_check(move || {
            let storage = storage.clone();
            // A point lookup by key: it touches the backend without scanning anything.
            async move {
                let probe = alerta_core::domain::UserId::parse("health-probe")?;
                storage.users.user_by_id(&probe).await.map(|_| ())
            }
        });
    let routes = router(backends.app.clone(), http).merge(crate::dashboard::routes());
    let listener = TcpListener::bind(config.http_addr)
        .await
        .with_context(|| format!("binding the HTTP address {}", config.http_addr))?;
    let http_addr = listener.local_addr()?;
    let (stop, mut stopped) = watch::channel(false);
    if let Some(every) = config.report_every()? {
        tokio::spawn(crate::reports::schedule(
            backends.app.clone(),
            backends.ledger.clone(),
            every,
            stop.subscribe(),
        ));
        tracing::info!(every = ?every, "report job scheduled");
    }
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            routes.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        })
        .await
        .context("serving HTTP")
    });
    tracing::info!(%http_addr, profile = ?config.profile, data_dir = %config.data_dir.display(), "alerta is serving");
    Ok(Running {
        http_addr,
        app: backends.app,
        stop,
        task,
    })
}
