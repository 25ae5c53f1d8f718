//! `--single-hop --spawn-demo-provider`: a demo provider served in this process, on a free
//! loopback port, configured as `demo` configures it (from the example registry), with a
//! client of the load tool's own. It shares this process's cores with the load generator.

use anyhow::{Context as _, anyhow};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub const EXAMPLE: &str = include_str!("../../examples/registry/pan-canada.toml");

/// The running provider and the client registered at it. Dropping it stops the provider.
#[derive(Debug)]
pub struct Spawned {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
    /// The provider's first test person.
    pub first_person: String,
    _stop: oneshot::Sender<()>,
}

pub async fn spawn(provider_id: &str) -> anyhow::Result<Spawned> {
    let registry = trust_framework::Registry::from_toml(EXAMPLE).map_err(|e| anyhow!("{e}"))?;
    let provider = registry
        .provider(provider_id)
        .with_context(|| format!("no provider {provider_id:?} in the example registry"))?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let issuer = format!("http://{}", listener.local_addr()?);
    let client_id = "load-tool".to_owned();
    let secret_bytes = crate::flow::random_bytes();
    let client_secret: String = secret_bytes.iter().map(|b| format!("{b:02x}")).collect();
    // Never fetched: the load tool reads the code from the redirect's Location.
    let redirect_uri = "http://127.0.0.1:9/load/callback".to_owned();
    let config = demo::provider::ProviderConfig::for_registry_provider(
        provider,
        issuer.clone(),
        demo::provider::ClientConfig {
            client_id: client_id.clone(),
            client_secret: client_secret.clone(),
            redirect_uris: vec![redirect_uri.clone()],
        },
        None,
    );
    let first_person = config
        .persons
        .first()
        .map(|p| p.id.clone())
        .context("the demo provider has no test person")?;
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(e) = demo::provider::serve(listener, config, shutdown).await {
            eprintln!("load: the in-process demo provider stopped: {e:#}");
        }
    });
    Ok(Spawned {
        issuer,
        client_id,
        client_secret,
        redirect_uri,
        first_person,
        _stop: stop,
    })
}

/// One of the registry's demo providers served by [`serve_registry`].
#[derive(Debug)]
pub struct Served {
    pub id: String,
    pub issuer: String,
    /// Its test persons, in registry order.
    pub persons: Vec<String>,
}

/// Stops every provider of [`serve_registry`] when dropped.
#[derive(Debug)]
pub struct ServedSet {
    pub providers: Vec<Served>,
    _stop: tokio::sync::watch::Sender<()>,
}

/// `--serve-providers`: the demo providers of `registry` served in this process, at their
/// registry addresses (loopback only), as `demo --providers only` serves them: each
/// knows the broker as its client by the secret in the environment variable its registry
/// entry names, and accepts the broker's `/callback` as redirect URI. The broker runs as
/// `demo --providers elsewhere` with the same variables. Serving them here keeps a
/// login's provider work in the load tool's process, as in the single-hop runs.
pub async fn serve_registry(registry: &str, broker_issuer: &str) -> anyhow::Result<ServedSet> {
    use trust_framework::SecretRef;
    let registry = trust_framework::Registry::from_toml(registry).map_err(|e| anyhow!("{e}"))?;
    let (stop, stopped) = tokio::sync::watch::channel(());
    let mut providers = Vec::new();
    for provider in registry.providers() {
        let Some(port) = demo::loopback_port(&provider.issuer) else {
            continue;
        };
        if !provider.status.is_active() {
            continue;
        }
        let SecretRef::Env(name) = &provider.client_secret else {
            anyhow::bail!(
                "--serve-providers: the client secret of {} must be an environment variable",
                provider.id
            );
        };
        let secret = std::env::var(name).with_context(|| {
            format!(
                "--serve-providers: set {name} (the client secret of {}), the same as for the broker",
                provider.id
            )
        })?;
        let config = demo::provider::ProviderConfig::for_broker(provider, secret, broker_issuer);
        let persons = config.persons.iter().map(|p| p.id.clone()).collect();
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .with_context(|| {
                format!("demo provider {} cannot listen on port {port}", provider.id)
            })?;
        let mut stopped = stopped.clone();
        let id = provider.id.clone();
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.changed().await;
            };
            if let Err(e) = demo::provider::serve(listener, config, shutdown).await {
                eprintln!("load: the in-process demo provider {id} stopped: {e:#}");
            }
        });
        providers.push(Served {
            id: provider.id.clone(),
            issuer: provider.issuer.clone(),
            persons,
        });
    }
    if providers.is_empty() {
        anyhow::bail!("--serve-providers: the registry has no active provider on loopback");
    }
    Ok(ServedSet {
        providers,
        _stop: stop,
    })
}
