//! The broker that joins instances into one deployment, from `ALERTA_BROKER_URL`.

use std::sync::Arc;

use alerta_core::ports::DynBroker;

use crate::config::Config;

/// The configured broker, connected; `None` when this instance serves the stream alone.
pub async fn connect(config: &Config) -> anyhow::Result<Option<Arc<DynBroker>>> {
    let Some(url) = config
        .broker_url
        .as_ref()
        .map(|url| url.expose().trim())
        .filter(|url| !url.is_empty())
    else {
        return Ok(None);
    };
    open(url).await.map(Some)
}

#[cfg(feature = "redis")]
async fn open(url: &str) -> anyhow::Result<Arc<DynBroker>> {
    use anyhow::Context;
    let broker = alerta_adapters::broker::RedisBroker::connect(url)
        .await
        .context("connecting to the broker (ALERTA_BROKER_URL)")?;
    tracing::info!(
        channel = broker.channel(),
        "joined the deployment through the broker"
    );
    Ok(Arc::new(broker))
}

#[cfg(not(feature = "redis"))]
async fn open(_url: &str) -> anyhow::Result<Arc<DynBroker>> {
    anyhow::bail!(
        "ALERTA_BROKER_URL is set, but this build has no broker: build alerta with the `redis` \
         feature (`cargo build -p alerta-bin --features redis`; the `aws` feature includes it)"
    )
}
