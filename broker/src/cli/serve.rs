//! `broker serve --config FILE`: the production entry point.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use trust_framework::Registry;

use crate::app::{Broker, BrokerParts};
use crate::config::{Config, StoreConfig};
use crate::keys::KeySet;
use crate::secrets::SecretResolver;
use crate::store::{MemoryStore, RedisStore, RedisTarget, Store};

pub async fn run(config: Config) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&config.registry)
        .with_context(|| format!("cannot read the registry {}", config.registry.display()))?;
    let registry = Registry::from_toml(&text)
        .with_context(|| format!("registry {}", config.registry.display()))?;
    let keys = KeySet::load(&config.keys)?;
    let secrets = SecretResolver::default();
    let pairwise = secrets
        .resolve(&config.pairwise.secret)
        .context("pairwise secret")?;
    let broker = Broker::new(BrokerParts {
        issuer: config.issuer.clone(),
        registry,
        keys,
        store: store(&config.store)?,
        secrets,
        pairwise_secret: pairwise.expose().as_bytes().to_vec(),
        upstream_timeout: Duration::from_secs(config.upstream.timeout_seconds),
    })?;
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    tracing::info!(issuer = %config.issuer, listen = %listener.local_addr()?, "broker serving");
    crate::app::run(listener, broker, shutdown_signal()).await?;
    Ok(())
}

fn store(config: &StoreConfig) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match config {
        StoreConfig::Memory => Arc::new(MemoryStore::new()),
        StoreConfig::Redis { url, timeout_ms } => {
            tracing::info!(store = "redis", "state store");
            Arc::new(RedisStore::new(
                &RedisTarget::Single(url.clone()),
                Duration::from_millis(*timeout_ms),
            )?)
        }
        StoreConfig::Cluster { nodes, timeout_ms } => {
            tracing::info!(store = "redis-cluster", nodes = nodes.len(), "state store");
            Arc::new(RedisStore::new(
                &RedisTarget::Cluster(nodes.clone()),
                Duration::from_millis(*timeout_ms),
            )?)
        }
    })
}

/// Ctrl-C or SIGTERM: finish the requests in flight, then stop.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
