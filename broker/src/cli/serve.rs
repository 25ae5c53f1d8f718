//! `broker serve --config FILE`: the production entry point.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use trust_framework::Registry;

use crate::app::{Broker, BrokerParts};
use crate::audit::Event;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, StoreConfig};
use crate::http::server::Tls;
use crate::keys::KeySet;
use crate::secrets::SecretResolver;
use crate::store::{MemoryStore, RedisStore, RedisTarget, Store};
use crate::upstream::UpstreamClient;

pub async fn run(config: Config) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&config.registry)
        .with_context(|| format!("cannot read the registry {}", config.registry.display()))?;
    let registry = Registry::from_toml(&text)
        .with_context(|| format!("registry {}", config.registry.display()))?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let keys = KeySet::load_at(&config.keys, clock.now().unix_timestamp())?;
    let secrets = SecretResolver::default();
    let pairwise = secrets
        .resolve(&config.pairwise.secret)
        .context("pairwise secret")?;
    let mut admins = Vec::new();
    for p in &config.admin.principals {
        let token = secrets
            .resolve(&p.token)
            .with_context(|| format!("admin principal {}", p.name))?;
        admins.push(crate::admin::auth::Principal::new(
            p.name.clone(),
            token.expose(),
            p.roles.iter().copied(),
        ));
    }
    // The log's key must load before anything is served: a log that cannot sign fails the start.
    let log = match &config.log {
        Some(log) => {
            Some(crate::tlog::LogSigning::from_config(log, &config.issuer).context("[log]")?)
        }
        None => {
            tracing::warn!(
                "no [log] key: the records' tree is kept, but no checkpoint is signed for auditors and witnesses"
            );
            None
        }
    };
    let records = open_records(&config, &secrets).await?;
    let source = config.registry.display().to_string();
    let (registry_version, registry) =
        crate::admin::bootstrap(&records, registry, &source, clock.now())
            .await
            .context("the registry in the records")?;
    let upstream_timeout = Duration::from_secs(config.upstream.timeout_seconds);
    let upstream = match &config.upstream.ca_bundle {
        Some(bundle) => UpstreamClient::with_ca_bundle(upstream_timeout, bundle)?,
        None => UpstreamClient::new(upstream_timeout)?,
    };
    // Read before anything listens: a bad certificate or key stops the start at once.
    let tls = match &config.tls {
        Some(tls) => Some(Tls::from_pem_files(&tls.cert, &tls.key)?),
        None => None,
    };
    if tls.is_some() != config.issuer.starts_with("https://") {
        tracing::warn!(
            issuer = %config.issuer,
            tls = tls.is_some(),
            "the issuer's scheme does not match how this broker serves (fine behind a proxy that terminates TLS)"
        );
    }
    let broker = Broker::with_upstream(
        BrokerParts {
            issuer: config.issuer.clone(),
            registry,
            keys,
            store: store(&config.store)?,
            secrets,
            pairwise_secret: pairwise.expose().as_bytes().to_vec(),
            upstream_timeout,
            records,
            registry_version,
            log,
            admins,
            limits: config.limits.clone(),
            clock,
            sessions: config.sessions,
            record: config.record.clone(),
            operator: crate::http::operator::Operator::load(
                &config.operator,
                std::path::Path::new("."),
            )?,
        },
        upstream,
    )?;
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    tokio::spawn(reload_keys(broker.clone()));
    tracing::info!(issuer = %config.issuer, listen = %listener.local_addr()?, tls = tls.is_some(), "broker serving");
    serve_until_signal(listener, broker, tls).await
}

/// The records of `config`: PostgreSQL from `[records]`, or SQLite in the data directory; with
/// their schema brought up to date (a schema newer than this binary stops the start).
pub async fn open_records(
    config: &Config,
    secrets: &SecretResolver,
) -> anyhow::Result<crate::records::Records> {
    let records = match &config.records {
        Some(r) => {
            let url = secrets.resolve(&r.url).context("[records] url")?;
            crate::records::Records::open(
                url.expose(),
                r.pool_size,
                Duration::from_millis(r.timeout_ms),
            )
            .await
            .context("the records (PostgreSQL)")?
        }
        None => {
            let path = config.data_dir.join("records.sqlite3");
            crate::records::Records::sqlite_file(
                &path,
                Duration::from_millis(crate::config::default_records_timeout()),
            )
            .await
            .with_context(|| format!("the records ({})", path.display()))?
        }
    };
    tracing::info!(
        records = records.backend().name(),
        "records open, schema up to date"
    );
    Ok(records)
}

/// Serves the broker (over TLS when `tls` is given) until Ctrl-C or SIGTERM.
pub async fn serve_until_signal(
    listener: tokio::net::TcpListener,
    broker: Broker,
    tls: Option<Tls>,
) -> anyhow::Result<()> {
    match tls {
        Some(tls) => crate::app::run_tls(listener, broker, tls, shutdown_signal()).await?,
        None => crate::app::run(listener, broker, shutdown_signal()).await?,
    }
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

/// Picks up key rotations made by `broker keys rotate` or by another replica.
async fn reload_keys(broker: Broker) {
    let period = Duration::from_secs(crate::keys::rotation::RELOAD_SECS.unsigned_abs());
    let mut tick = tokio::time::interval(period);
    tick.tick().await;
    loop {
        tick.tick().await;
        match broker.keys.reload(broker.now().unix_timestamp()) {
            Ok(true) => broker.audit(Event::KeysReloaded),
            Ok(false) => {}
            Err(e) => {
                tracing::error!(error = %e, "key files could not be reloaded; signing with the keys in force")
            }
        }
    }
}
