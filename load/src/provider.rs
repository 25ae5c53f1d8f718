//! `--single-hop --spawn-demo-provider`: a demo provider served in this process, on a free
//! loopback port, configured as `broker demo` configures it (from the example registry), with a
//! client of the load tool's own. It shares this process's cores with the load generator.

use anyhow::{Context as _, anyhow};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const EXAMPLE: &str = include_str!("../../examples/registry/pan-canada.toml");

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
    let secret_bytes: [u8; 32] = rand::random();
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
