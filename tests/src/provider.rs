//! A demo provider of the example registry, served in the test process on a free loopback
//! port, for brokers running as processes.

use anyhow::{Context, Result};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The example registry the broker processes of the tests start with.
pub const EXAMPLE: &str = include_str!("../../examples/registry/pan-canada.toml");

/// One demo provider; it stops when dropped.
#[derive(Debug)]
pub struct DemoProvider {
    pub issuer: String,
    /// The issuer the example registry names for it, replaced by [`DemoProvider::registered_in`].
    example_issuer: String,
    _stop: oneshot::Sender<()>,
}

impl DemoProvider {
    /// Serves the example registry's provider `id`, answering the broker (`pan-canadian-broker`
    /// with `secret`) at `callbacks`.
    pub async fn start(id: &str, secret: &str, callbacks: Vec<String>) -> Result<Self> {
        let example = trust_framework::Registry::from_toml(EXAMPLE)?;
        let entry = example
            .provider(id)
            .with_context(|| format!("the example registry has no provider {id:?}"))?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let issuer = format!("http://{}", listener.local_addr()?);
        let config = demo::provider::ProviderConfig::for_registry_provider(
            entry,
            issuer.clone(),
            demo::provider::ClientConfig {
                client_id: entry.client_id.clone(),
                client_secret: secret.to_owned(),
                redirect_uris: callbacks,
            },
            None,
        );
        let (stop, stopped) = oneshot::channel();
        tokio::spawn(async move {
            let _ = demo::provider::serve(listener, config, async {
                let _ = stopped.await;
            })
            .await;
        });
        Ok(Self {
            issuer,
            example_issuer: entry.issuer.clone(),
            _stop: stop,
        })
    }

    /// `registry` with this provider's issuer in place of the example's.
    pub fn registered_in(&self, registry: &str) -> String {
        registry.replace(
            &format!("\"{}\"", self.example_issuer),
            &format!("\"{}\"", self.issuer),
        )
    }
}
