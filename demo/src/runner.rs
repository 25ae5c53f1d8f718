//! The `demo` command: the broker, a demo provider per registry provider on its loopback port, and
//! the demo relying service, all in one process and in memory. Secrets and keys are generated
//! at start and printed, so that other people's tools can use the demo as a test bed.
//!
//! `--providers only` and `--providers elsewhere` split the demo in two processes (the
//! providers in one, the broker and the relying service in the other) sharing the providers'
//! client secrets through the environment variables the registry names, so that the broker's
//! own CPU and memory can be measured without the providers' (load/run.sh, where the load tool
//! serves the providers itself, or `--providers apart`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::net::TcpListener;
use trust_framework::{ClientAuth, Registry, SecretRef};

use broker::app::{Broker, BrokerParts};
use broker::http::browser::random_token;
use broker::keys::KeySet;
use broker::secrets::{Secret, SecretResolver};
use broker::store::{MemoryStore, RedisStore, RedisTarget};

pub const DEFAULT_REGISTRY: &str = include_str!("../../examples/registry/pan-canada.toml");

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub registry: Option<std::path::PathBuf>,
    pub broker_port: u16,
    /// Keep the broker's state in this Redis instead of memory (to try or measure the Redis store).
    pub redis_url: Option<String>,
    /// Keep the records in this PostgreSQL instead of SQLite in memory (to try or measure it).
    pub records_url: Option<String>,
    /// Serve the broker over https with this certificate and key (the providers and the
    /// relying service stay plain http on loopback).
    pub tls: Option<broker::config::TlsConfig>,
    pub limits: broker::http::limits::Limits,
    pub providers: DemoProviders,
}

/// Where the demo identity providers run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DemoProviders {
    /// In this process, with the broker and the relying service.
    #[default]
    Here,
    /// In this process, alone: no broker, no relying service. A provider's client secret is
    /// the environment variable its registry entry names (which must be set).
    Only,
    /// In another process (`--providers only`): the broker reads the providers' client
    /// secrets from the environment variables their registry entries name.
    Elsewhere,
}

fn env_name(reference: &SecretRef) -> Option<&str> {
    match reference {
        SecretRef::Env(name) => Some(name),
        SecretRef::File(_) | SecretRef::Sha256(_) => None,
    }
}

/// The certificates of the broker's chain, trusted by the demo relying service when it calls
/// the broker: a self-signed certificate is its own root.
fn trusted_roots(cert: &std::path::Path) -> anyhow::Result<Vec<reqwest::Certificate>> {
    let pem = std::fs::read(cert).with_context(|| format!("cannot read {}", cert.display()))?;
    reqwest::Certificate::from_pem_bundle(&pem)
        .with_context(|| format!("{} is not a PEM certificate chain", cert.display()))
}

pub async fn run(options: DemoOptions) -> anyhow::Result<()> {
    let text = match &options.registry {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
        None => DEFAULT_REGISTRY.to_owned(),
    };
    let registry = Registry::from_toml(&text)?;
    if !registry.is_development() {
        bail!("demo runs development registries only (registry.development = true)");
    }
    let tls = match &options.tls {
        Some(files) => Some((
            broker::http::server::Tls::from_pem_files(&files.cert, &files.key)?,
            trusted_roots(&files.cert)?,
        )),
        None => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let issuer = format!("{scheme}://127.0.0.1:{}", options.broker_port);
    let mut overlay = HashMap::new();
    let mut out = String::new();
    out.push_str(&format!(
        "\nPan-Canadian identity broker demo\n\n  broker issuer        {issuer}\n"
    ));

    let mut tasks = Vec::new();
    for provider in registry.providers() {
        let Some(port) = demo::loopback_port(&provider.issuer) else {
            continue;
        };
        if !provider.status.is_active() {
            continue;
        }
        let env = env_name(&provider.client_secret);
        // Split in two processes, both sides take the secret from the environment.
        let shared = match options.providers {
            DemoProviders::Here => None,
            DemoProviders::Only | DemoProviders::Elsewhere => {
                let Some((name, Ok(secret))) = env.map(|name| (name, std::env::var(name))) else {
                    bail!(
                        "--providers only|elsewhere: set the client secret of {} in the \
                         environment variable its registry entry names, the same for both \
                         processes",
                        provider.id
                    );
                };
                Some((name, secret))
            }
        };
        if options.providers == DemoProviders::Elsewhere {
            let name = shared.map(|(name, _)| name).unwrap_or_default();
            out.push_str(&format!(
                "  provider {:<12} {}  ({}; served elsewhere, secret from {name})\n",
                provider.jurisdiction.code(),
                provider.issuer,
                provider.id,
            ));
            continue;
        }
        let secret = shared.map_or_else(random_token, |(_, secret)| secret);
        if let Some(env) = env {
            overlay.insert(env.to_owned(), Secret::new(secret.clone()));
        }
        let config = demo::provider::ProviderConfig::for_broker(provider, secret, &issuer);
        let persons: Vec<String> = config.persons.iter().map(|p| p.id.clone()).collect();
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .with_context(|| {
                format!("demo provider {} cannot listen on port {port}", provider.id)
            })?;
        out.push_str(&format!(
            "  provider {:<12} {}  ({}; test persons: {})\n",
            provider.jurisdiction.code(),
            provider.issuer,
            provider.id,
            persons.join(", ")
        ));
        tasks.push(tokio::spawn(demo::provider::serve(
            listener,
            config,
            broker::cli::serve::shutdown_signal(),
        )));
    }

    if options.providers == DemoProviders::Only {
        out.push_str(
            "  (--providers only: no broker, no relying service)\n  Press Ctrl-C to stop.\n",
        );
        print_banner(&out);
        for task in tasks {
            task.await??;
        }
        return Ok(());
    }

    let mut clients = Vec::new();
    let mut rp_port = None;
    for rp in registry.relying_parties() {
        let Some(redirect) = rp
            .redirect_uris
            .iter()
            .find(|u| demo::loopback_port(u).is_some())
        else {
            continue;
        };
        let secret = random_token();
        let (method, reference) = match &rp.auth {
            ClientAuth::ClientSecretBasic { secret } => ("client_secret_basic", secret),
            ClientAuth::ClientSecretPost { secret } => ("client_secret_post", secret),
            ClientAuth::PrivateKeyJwt { .. } => continue,
        };
        if let Some(env) = env_name(reference) {
            overlay.insert(env.to_owned(), Secret::new(secret.clone()));
        }
        rp_port = rp_port.or(demo::loopback_port(redirect));
        out.push_str(&format!(
            "  service {:<25} client_id {}  secret {}  ({method})  redirect {}\n",
            rp.name.en, rp.client_id, secret, redirect
        ));
        clients.push(demo::relying_service::ServiceClient {
            client_id: rp.client_id.clone(),
            client_secret: secret,
            auth_method: method.to_owned(),
            redirect_uri: redirect.clone(),
            name_en: rp.name.en.clone(),
            name_fr: rp.name.fr.clone(),
        });
    }

    let records = match &options.records_url {
        None => broker::records::Records::in_memory().await?,
        Some(url) => {
            out.push_str("  records              PostgreSQL\n");
            broker::records::Records::open(url, 8, Duration::from_secs(2)).await?
        }
    };
    let source = options.registry.as_ref().map_or_else(
        || "the example registry".to_owned(),
        |p| p.display().to_string(),
    );
    let (registry_version, registry) =
        broker::admin::bootstrap(&records, registry, &source, broker::clock::wall_time()).await?;
    // The audit log, signed by keys made for this run; its verifier key, for
    // `conformance log verify` and witnesses.
    // Over plain http, a witness of its own cosigns it, as an outside witness would (over the
    // demo's https, it would have to trust the demo's own CA; it is left out there).
    let witness = match &tls {
        None => Some(demo::witness::DemoWitness::new()?),
        Some(_) => None,
    };
    let witness_keys: Vec<String> = witness.iter().map(|w| w.vkey.clone()).collect();
    let log = broker::tlog::LogSigning::in_memory(&issuer, &witness_keys)?;
    let log_keys = log.vkeys()?;
    if let Some(key) = log_keys.first() {
        out.push_str(&format!(
            "  audit log            {issuer}/log/checkpoint  (key {key})\n"
        ));
    }
    if let Some(w) = &witness {
        out.push_str(&format!(
            "  audit log witness    {}  (key {})\n",
            demo::witness::NAME,
            w.vkey
        ));
    }
    let broker = Broker::new(BrokerParts {
        record: Default::default(),
        issuer: issuer.clone(),
        registry,
        records,
        registry_version,
        keys: KeySet::generate()?,
        store: match &options.redis_url {
            None => Arc::new(MemoryStore::new()),
            Some(url) => {
                out.push_str(&format!("  state store          {url}\n"));
                Arc::new(RedisStore::new(
                    &RedisTarget::Single(url.clone()),
                    Duration::from_millis(500),
                )?)
            }
        },
        log: Some(log),
        secrets: SecretResolver::with_overlay(overlay),
        pairwise_secret: random_token().into_bytes(),
        upstream_timeout: Duration::from_secs(10),
        admins: Vec::new(),
        limits: options.limits.clone(),
        clock: Arc::new(broker::clock::SystemClock),
        sessions: Default::default(),
        operator: broker::http::operator::Operator::default(),
    })?;
    let listener = TcpListener::bind(("127.0.0.1", options.broker_port))
        .await
        .with_context(|| format!("the broker cannot listen on port {}", options.broker_port))?;
    let (tls, roots) = tls.unzip();
    tasks.push(tokio::spawn(broker::cli::serve::serve_until_signal(
        listener, broker, tls,
    )));
    if let Some(w) = witness {
        tasks.push(tokio::spawn(w.run_until(
            issuer.clone(),
            log_keys,
            broker::cli::serve::shutdown_signal(),
        )));
    }

    if let Some(port) = rp_port {
        let public_url = format!("http://127.0.0.1:{port}");
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .with_context(|| format!("the demo relying service cannot listen on port {port}"))?;
        let config = demo::relying_service::RelyingServiceConfig {
            broker_issuer: issuer.clone(),
            public_url: public_url.clone(),
            clients,
        };
        tasks.push(tokio::spawn(demo::relying_service::serve_trusting(
            listener,
            config,
            roots.unwrap_or_default(),
            broker::cli::serve::shutdown_signal(),
        )));
        out.push_str(&format!(
            "\n  Open {public_url}/ in a browser to sign in through the broker.\n"
        ));
        out.push_str(
            "  To sign out at a provider instead (the broker is told), open its issuer's /sessions.\n",
        );
    }
    out.push_str("  Press Ctrl-C to stop.\n");
    print_banner(&out);

    for task in tasks {
        task.await??;
    }
    Ok(())
}

/// A closed standard output (a piped reader that went away) must not stop the demo.
fn print_banner(out: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{out}").and_then(|()| stdout.flush());
}
