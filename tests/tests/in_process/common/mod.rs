//! A test bed over real HTTP on loopback: demo providers, the broker, and a scripted relying
//! party (this code) that speaks OpenID Connect to the broker and checks everything it gets.

pub mod audit;
pub mod failing_store;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use broker::app::{Broker, BrokerParts};
use broker::clock::FixedClock;
use broker::keys::KeySet;
use broker::secrets::{Secret, SecretResolver};
use broker::store::MemoryStore;
use broker::upstream::UpstreamClient;
use serde_json::{Map, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use trust_framework::Registry;

/// The example registry as it stood in November 2026: the broker here judges it at [`NOW`].
pub const EXAMPLE: &str = include_str!("../../../fixtures/pan-canada-2026.toml");
/// The time every broker and provider of a test bed runs at, unless a test moves its clock.
pub const NOW: time::OffsetDateTime = time::macros::datetime!(2026-11-24 12:00 UTC);
pub const RP: &str = "esdc-employment-insurance";
pub const RP_SECRET: &str = "rp-secret-for-tests";
pub const RP_REDIRECT: &str = "http://127.0.0.1:8490/callback/esdc-employment-insurance";

/// The registry's demo providers by id, with the port each listens on in the example file.
pub const PROVIDERS: [(&str, u16); 4] = [
    ("ab-account", 8411),
    ("bc-services-card", 8412),
    ("qc-sqin", 8413),
    ("ircc-newcomers", 8419),
];

pub struct TestBed {
    pub broker_url: String,
    /// The registry the broker started with (provider ports filled in), for edits mid-flow.
    pub registry_text: String,
    pub broker: Broker,
    pub providers: HashMap<String, String>,
    pub persons: HashMap<String, String>,
    pub http: reqwest::Client,
    /// The clock of the broker and of every provider of the bed, at [`NOW`] until moved.
    pub clock: Arc<FixedClock>,
    stops: Vec<oneshot::Sender<()>>,
}

impl Drop for TestBed {
    fn drop(&mut self) {
        for s in self.stops.drain(..) {
            let _ = s.send(());
        }
    }
}

#[derive(Default)]
pub struct Options {
    pub faults: HashMap<&'static str, demo::provider::Fault>,
    pub edit_registry: Option<Box<dyn FnOnce(String) -> String + Send>>,
    pub upstream_timeout: Option<Duration>,
    /// The records; fresh ones in memory (SQLite) when absent.
    pub records: Option<broker::records::Records>,
    pub admins: Vec<broker::admin::auth::Principal>,
    /// The witnesses' verifier keys the log keeps cosignatures of.
    pub witnesses: Vec<String>,
    pub limits: Option<broker::http::limits::Limits>,
    /// Sessions' lifetimes and reuse rule; the defaults when absent.
    pub sessions: Option<broker::session::SessionPolicy>,
    /// More secrets for the broker (environment variable name, value).
    pub secrets: Vec<(String, String)>,
    /// The state store; a fresh in-memory one when absent.
    pub store: Option<Arc<dyn broker::store::Store>>,
    /// A CA bundle (PEM) the broker trusts toward providers beside the web's roots, as
    /// `[upstream] ca_bundle` does.
    pub upstream_ca_bundle: Option<PathBuf>,
    /// Who runs the broker, as `[operator]` gives it; the demonstration's when absent.
    pub operator: Option<broker::http::operator::Operator>,
}

fn secret_env(id: &str) -> String {
    format!("BROKER_IDP_{}_SECRET", id.to_uppercase().replace('-', "_"))
}

pub async fn start(options: Options) -> TestBed {
    broker::crypto::install_provider().unwrap();
    let broker_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let broker_url = format!("http://{}", broker_listener.local_addr().unwrap());
    let mut registry_text = EXAMPLE.to_owned();
    let mut overlay = HashMap::new();
    let mut providers = HashMap::new();
    let mut persons = HashMap::new();
    let mut stops = Vec::new();
    let mut options = options;
    let clock = Arc::new(FixedClock::at(NOW));

    let example = Registry::from_toml(EXAMPLE).unwrap();
    for (id, port) in PROVIDERS {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        registry_text = registry_text.replace(
            &format!("\"http://127.0.0.1:{port}\""),
            &format!("\"{issuer}\""),
        );
        let secret = format!("{id}-client-secret");
        overlay.insert(secret_env(id), Secret::new(secret.clone()));
        let provider = example.provider(id).unwrap();
        let mut config = demo::provider::ProviderConfig::for_registry_provider(
            provider,
            issuer.clone(),
            demo::provider::ClientConfig {
                client_id: provider.client_id.clone(),
                client_secret: secret,
                redirect_uris: vec![format!("{broker_url}/callback")],
            },
            options.faults.remove(id),
        );
        config.clock = clock.clone();
        persons.insert(id.to_owned(), config.persons[0].id.clone());
        let (tx, rx) = oneshot::channel();
        stops.push(tx);
        tokio::spawn(async move {
            let _ = demo::provider::serve(listener, config, async {
                let _ = rx.await;
            })
            .await;
        });
        providers.insert(id.to_owned(), issuer);
    }
    for rp in example.relying_parties() {
        let env = format!(
            "DEMO_RP_{}_SECRET",
            rp.client_id.to_uppercase().replace('-', "_")
        );
        overlay.insert(env, Secret::new(RP_SECRET));
    }
    for (name, value) in options.secrets.drain(..) {
        overlay.insert(name, Secret::new(value));
    }
    if let Some(edit) = options.edit_registry.take() {
        registry_text = edit(registry_text);
    }
    let registry = Registry::from_toml(&registry_text).unwrap();
    let registry_text = registry_text.clone();
    let upstream_timeout = options.upstream_timeout.unwrap_or(Duration::from_secs(5));
    let parts = BrokerParts {
        record: Default::default(),
        issuer: broker_url.clone(),
        registry,
        keys: KeySet::generate().unwrap(),
        store: options
            .store
            .take()
            .unwrap_or_else(|| Arc::new(MemoryStore::new())),
        secrets: SecretResolver::with_overlay(overlay),
        pairwise_secret: b"pairwise-test-secret".to_vec(),
        upstream_timeout,
        records: match options.records.take() {
            Some(records) => records,
            None => broker::records::Records::in_memory().await.unwrap(),
        },
        registry_version: 0,
        log: Some(broker::tlog::LogSigning::in_memory(&broker_url, &options.witnesses).unwrap()),
        admins: std::mem::take(&mut options.admins),
        limits: options.limits.take().unwrap_or_default(),
        clock: clock.clone(),
        sessions: options.sessions.take().unwrap_or_default(),
        operator: options.operator.take().unwrap_or_default(),
    };
    let broker = match options.upstream_ca_bundle.take() {
        Some(bundle) => Broker::with_upstream(
            parts,
            UpstreamClient::with_ca_bundle(upstream_timeout, &bundle).unwrap(),
        ),
        None => Broker::new(parts),
    }
    .unwrap();
    let (tx, rx) = oneshot::channel();
    stops.push(tx);
    let b = broker.clone();
    tokio::spawn(async move {
        let _ = broker::app::run(broker_listener, b, async {
            let _ = rx.await;
        })
        .await;
    });
    TestBed {
        broker_url,
        registry_text,
        broker,
        providers,
        persons,
        http: browser(),
        clock,
        stops,
    }
}

#[allow(unused_imports)]
pub use e2e::rp::{AuthRequest, Outcome, rand_token};

pub fn location(r: &reqwest::Response) -> String {
    e2e::rp::location(r).unwrap()
}

pub fn query(url: &str) -> std::collections::HashMap<String, String> {
    e2e::rp::query(url).unwrap()
}

pub fn browser() -> reqwest::Client {
    e2e::rp::browser().unwrap()
}

/// A plain client, with the process's TLS provider installed first.
pub fn http() -> reqwest::Client {
    e2e::rp::http()
}

/// An ES256 key of a test party (a relying party, a jurisdiction that signs statements).
pub struct TestKey(pub demo::jose::KeyPair);

impl TestKey {
    pub fn es256() -> Self {
        Self(demo::jose::KeyPair::generate("ES256").unwrap())
    }

    /// The public JWK (`kty`, `crv`, `x`, `y`), with `kid` when given.
    pub fn public(&self, kid: Option<&str>) -> Map<String, Value> {
        let mut jwk = self.0.public_jwk();
        jwk.remove("use");
        jwk.remove("alg");
        if let Some(kid) = kid {
            jwk.insert("kid".into(), kid.into());
        }
        jwk
    }

    /// The private JWK: the public one and `d`.
    pub fn private(&self, kid: Option<&str>) -> Map<String, Value> {
        let mut jwk = self.public(kid);
        jwk.insert("d".into(), self.0.ec_private_scalar().unwrap().into());
        jwk
    }

    /// A compact ES256 JWS of `claims` with `kid` (and `typ` `JWT`).
    pub fn sign(&self, kid: &str, claims: &Value) -> String {
        let header = serde_json::json!({ "typ": "JWT", "alg": "ES256", "kid": kid });
        self.0
            .sign_jws(&header, claims.to_string().as_bytes())
            .unwrap()
    }
}

/// A session policy under which no session stands in for a sign-in: for tests of other things
/// that sign the same browser in more than once and expect the provider each time.
pub fn without_reuse() -> Option<broker::session::SessionPolicy> {
    Some(broker::session::SessionPolicy {
        fresh_sign_in_from: 1,
        ..broker::session::SessionPolicy::default()
    })
}

impl TestBed {
    /// Swaps the running broker's registry for an edited copy of the one it started with.
    pub fn edit_registry(&self, edit: impl FnOnce(String) -> String) {
        let text = edit(self.registry_text.clone());
        self.broker
            .replace_registry(Registry::from_toml(&text).unwrap());
    }

    /// The browser side of a login through the picker (choosing `provider`) and the provider
    /// (signing its first test person in at once).
    pub async fn browse(&self, req: &AuthRequest, provider: &str) -> Outcome {
        let walk = e2e::rp::Walk {
            provider: provider.into(),
            login_hint: Some(self.persons[provider].clone()),
            ..e2e::rp::Walk::default()
        };
        e2e::rp::browse(&self.http, &self.broker_url, req, &walk)
            .await
            .unwrap()
    }

    /// GETs `url` with the bed's browser and returns the body (a page, a metrics scrape).
    pub async fn page(&self, url: impl reqwest::IntoUrl) -> String {
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Redeems a code as the relying party (client_secret_basic).
    pub async fn redeem(&self, req: &AuthRequest, code: &str, secret: &str) -> (u16, Value) {
        let (status, body, cache) = e2e::rp::redeem(&self.broker_url, req, code, secret)
            .await
            .unwrap();
        assert_eq!(cache.as_deref(), Some("no-store"));
        (status, body)
    }

    /// Verifies the broker's ID token against its published JWKS; returns (claims, header).
    pub async fn verify_id_token(&self, token: &str) -> (Map<String, Value>, Map<String, Value>) {
        e2e::rp::verify_id_token(&format!("{}/jwks.json", self.broker_url), token)
            .await
            .unwrap()
    }

    /// Starts `req` (which names its provider by `idp_hint`) and signs the provider's first test
    /// person in there; returns the broker callback URL the provider sends the browser back to,
    /// not yet followed.
    pub async fn callback_from(&self, req: &AuthRequest, provider: &str) -> String {
        let r = self
            .http
            .get(req.url(&self.broker_url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let mut upstream = url::Url::parse(&location(&r)).unwrap();
        upstream
            .query_pairs_mut()
            .append_pair("login_hint", &self.persons[provider]);
        let r = self.http.get(upstream).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let callback = location(&r);
        assert!(callback.starts_with(&format!("{}/callback", self.broker_url)));
        callback
    }

    /// A whole login and code redemption; returns the verified ID token claims.
    pub async fn login(&self, req: &AuthRequest, provider: &str) -> Map<String, Value> {
        let outcome = self.browse(req, provider).await;
        assert_eq!(outcome.params.get("error"), None, "{:?}", outcome.params);
        assert_eq!(outcome.params["state"], req.state);
        assert_eq!(outcome.params["iss"], self.broker_url);
        let (status, body) = self.redeem(req, &outcome.params["code"], RP_SECRET).await;
        assert_eq!(status, 200, "{body}");
        let (claims, _) = self
            .verify_id_token(body["id_token"].as_str().unwrap())
            .await;
        claims
    }
}
