//! A test bed over real HTTP on loopback: demo providers, the broker, and a scripted relying
//! party (this code) that speaks OpenID Connect to the broker and checks everything it gets.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use broker::app::{Broker, BrokerParts};
use broker::keys::KeySet;
use broker::secrets::{Secret, SecretResolver};
use broker::store::MemoryStore;
use josekit::jwk::Jwk;
use josekit::jws::JwsVerifier;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use trust_framework::Registry;

pub const EXAMPLE: &str = include_str!("../../../examples/registry/pan-canada.toml");
pub const RP: &str = "esdc-employment-insurance";
pub const RP_SECRET: &str = "rp-secret-for-tests";
pub const RP_REDIRECT: &str = "http://127.0.0.1:8490/callback/esdc-employment-insurance";

/// The registry's demo providers by id, with the port each listens on in the example file.
pub const PROVIDERS: [(&str, &str, u16); 4] = [
    ("ab-account", "CA-AB", 8411),
    ("bc-services-card", "CA-BC", 8412),
    ("qc-sqin", "CA-QC", 8413),
    ("ircc-newcomers", "CA", 8419),
];

pub struct TestBed {
    pub broker_url: String,
    pub broker: Broker,
    pub providers: HashMap<String, String>,
    pub persons: HashMap<String, String>,
    pub http: reqwest::Client,
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
}

fn secret_env(id: &str) -> String {
    format!("BROKER_IDP_{}_SECRET", id.to_uppercase().replace('-', "_"))
}

pub async fn start(options: Options) -> TestBed {
    let broker_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let broker_url = format!("http://{}", broker_listener.local_addr().unwrap());
    let mut registry_text = EXAMPLE.to_owned();
    let mut overlay = HashMap::new();
    let mut providers = HashMap::new();
    let mut persons = HashMap::new();
    let mut stops = Vec::new();
    let mut options = options;

    let example = Registry::from_toml(EXAMPLE).unwrap();
    for (id, jurisdiction, port) in PROVIDERS {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        registry_text = registry_text.replace(
            &format!("\"http://127.0.0.1:{port}\""),
            &format!("\"{issuer}\""),
        );
        let secret = format!("{id}-client-secret");
        overlay.insert(secret_env(id), Secret::new(secret.clone()));
        let provider = example.provider(id).unwrap();
        let mut acr: Vec<(&String, &trust_framework::AssuranceLevel)> =
            provider.acr_map.iter().collect();
        acr.sort_by_key(|(_, l)| **l);
        let claim_names: BTreeMap<String, String> = provider
            .claim_map
            .iter()
            .map(|(upstream, a)| (a.claim().to_owned(), upstream.clone()))
            .collect();
        let test_persons = demo::provider::test_persons(jurisdiction);
        persons.insert(id.to_owned(), test_persons[0].id.clone());
        let config = demo::provider::ProviderConfig {
            issuer: issuer.clone(),
            name_en: provider.name.en.clone(),
            name_fr: provider.name.fr.clone(),
            clients: vec![demo::provider::ClientConfig {
                client_id: provider.client_id.clone(),
                client_secret: secret,
                redirect_uris: vec![format!("{broker_url}/callback")],
            }],
            acr_values: acr.into_iter().map(|(a, _)| a.clone()).collect(),
            claim_names,
            persons: test_persons,
            fault: options.faults.remove(id),
        };
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
    if let Some(edit) = options.edit_registry.take() {
        registry_text = edit(registry_text);
    }
    let registry = Registry::from_toml(&registry_text).unwrap();
    let broker = Broker::new(BrokerParts {
        issuer: broker_url.clone(),
        registry,
        keys: KeySet::generate().unwrap(),
        store: Arc::new(MemoryStore::new()),
        secrets: SecretResolver::with_overlay(overlay),
        pairwise_secret: b"pairwise-test-secret".to_vec(),
        upstream_timeout: options.upstream_timeout.unwrap_or(Duration::from_secs(5)),
    })
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
        broker,
        providers,
        persons,
        http: browser(),
        stops,
    }
}

/// A browser: cookies kept, redirects not followed (each hop is checked by the test).
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// What the scripted relying party sends to `/authorize`.
#[derive(Clone)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub extra: Vec<(String, String)>,
}

impl AuthRequest {
    pub fn new(client_id: &str, redirect_uri: &str) -> Self {
        Self {
            client_id: client_id.into(),
            redirect_uri: redirect_uri.into(),
            scope: "openid profile address".into(),
            state: format!("state-{}", rand_token()),
            nonce: format!("nonce-{}", rand_token()),
            verifier: rand_token(),
            extra: Vec::new(),
        }
    }

    pub fn with(mut self, k: &str, v: &str) -> Self {
        self.extra.retain(|(key, _)| key != k);
        self.extra.push((k.into(), v.into()));
        self
    }

    pub fn challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.verifier.as_bytes()))
    }

    pub fn url(&self, broker_url: &str) -> String {
        let mut url = url::Url::parse(&format!("{broker_url}/authorize")).unwrap();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", &self.client_id)
                .append_pair("redirect_uri", &self.redirect_uri)
                .append_pair("response_type", "code")
                .append_pair("scope", &self.scope)
                .append_pair("state", &self.state)
                .append_pair("nonce", &self.nonce)
                .append_pair("code_challenge", &self.challenge())
                .append_pair("code_challenge_method", "S256");
            for (k, v) in &self.extra {
                q.append_pair(k, v);
            }
        }
        url.to_string()
    }
}

pub fn rand_token() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location on a {} response", r.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

pub fn query(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// Extracts `name="X" value="Y"` hidden inputs from a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in page"))
        + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

/// The end of a browser's trip: the redirect back to the relying party.
pub struct Outcome {
    pub redirect: String,
    pub params: HashMap<String, String>,
}

impl TestBed {
    /// Runs the browser side of a login: `/authorize`, the picker if shown (choosing
    /// `provider`), the provider (signing in `login_hint` at once), `/callback`, and stops at
    /// the redirect to the relying party.
    pub async fn browse(&self, req: &AuthRequest, provider: &str) -> Outcome {
        let mut r = self
            .http
            .get(req.url(&self.broker_url))
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            let html = r.text().await.unwrap();
            assert!(html.contains("<form"), "expected the picker, got {html}");
            let form = [
                ("txn", hidden(&html, "txn")),
                ("csrf", hidden(&html, "csrf")),
                ("lang", "en".into()),
                ("provider", provider.into()),
            ];
            r = self
                .http
                .post(format!("{}/authorize/select", self.broker_url))
                .form(&form)
                .send()
                .await
                .unwrap();
        }
        assert_eq!(
            r.status(),
            303,
            "expected a redirect, got {} {:?}",
            r.status(),
            r.text().await
        );
        let mut next = location(&r);
        // Follow redirects until the browser is sent to the relying party.
        for _ in 0..6 {
            if next.starts_with(&req.redirect_uri) {
                let params = query(&next);
                return Outcome {
                    redirect: next,
                    params,
                };
            }
            let mut url = url::Url::parse(&next).unwrap();
            if url.path().ends_with("/authorize") && !next.starts_with(&self.broker_url) {
                // At the provider: sign the test person in without the page.
                if !url.query_pairs().any(|(k, _)| k == "login_hint") {
                    let person = self.persons[provider].clone();
                    url.query_pairs_mut().append_pair("login_hint", &person);
                }
            }
            let r = self.http.get(url).send().await.unwrap();
            if r.status() != 303 && r.status() != 302 {
                let status = r.status();
                panic!(
                    "expected a redirect at {next}, got {status}: {}",
                    r.text().await.unwrap()
                );
            }
            next = location(&r);
        }
        panic!("too many redirects");
    }

    /// Redeems a code as the relying party (client_secret_basic).
    pub async fn redeem(&self, req: &AuthRequest, code: &str, secret: &str) -> (u16, Value) {
        let r = reqwest::Client::new()
            .post(format!("{}/token", self.broker_url))
            .basic_auth(&req.client_id, Some(secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &req.redirect_uri),
                ("code_verifier", &req.verifier),
            ])
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        assert_eq!(
            r.headers()
                .get("cache-control")
                .map(|v| v.to_str().unwrap()),
            Some("no-store")
        );
        (status, r.json().await.unwrap())
    }

    /// Verifies the broker's ID token against its published JWKS and returns its claims.
    pub async fn verify_id_token(&self, token: &str) -> (Map<String, Value>, Map<String, Value>) {
        let jwks: Value = reqwest::get(format!("{}/jwks.json", self.broker_url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let header = josekit::jwt::decode_header(token).unwrap();
        let alg = header.claim("alg").unwrap().as_str().unwrap().to_owned();
        let kid = header.claim("kid").unwrap().as_str().unwrap().to_owned();
        let jwk = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid.as_str())
            .expect("kid in JWKS");
        let jwk = Jwk::from_map(jwk.as_object().unwrap().clone()).unwrap();
        let verifier: Box<dyn JwsVerifier> = match alg.as_str() {
            "ES256" => Box::new(josekit::jws::ES256.verifier_from_jwk(&jwk).unwrap()),
            "PS256" => Box::new(josekit::jws::PS256.verifier_from_jwk(&jwk).unwrap()),
            "RS256" => Box::new(josekit::jws::RS256.verifier_from_jwk(&jwk).unwrap()),
            "EdDSA" => Box::new(josekit::jws::EdDSA.verifier_from_jwk(&jwk).unwrap()),
            other => panic!("unexpected alg {other}"),
        };
        let (payload, header) =
            josekit::jwt::decode_with_verifier(token, verifier.as_ref()).unwrap();
        (payload.claims_set().clone(), header.claims_set().clone())
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
