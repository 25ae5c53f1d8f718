//! Shared set-up for the demo crate's HTTP tests: routers bound on 127.0.0.1 port 0, real HTTP.
#![allow(dead_code)] // each test crate uses some of the helpers

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use demo::provider::{ClientConfig, Fault, ProviderConfig};
use serde_json::Value;
use tokio::net::TcpListener;

pub const CLIENT_ID: &str = "test-client";
/// At least 32 bytes, so that an HS256 verifier accepts it as a key.
pub const CLIENT_SECRET: &str = "test-client-secret-0123456789-abcdefghij";
pub const REDIRECT_URI: &str = "https://client.example/callback";
pub const ACR_VALUES: [&str; 3] = [
    "urn:ab:aca:basic",
    "urn:ab:aca:verified",
    "urn:ab:aca:verified-mfa",
];

/// A browser-like client: cookies kept, redirects not followed.
pub fn browser() -> reqwest::Client {
    demo::jose::http_client_builder()
        .unwrap()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub async fn bind() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

pub fn provider_config(issuer: &str, fault: Option<Fault>) -> ProviderConfig {
    ProviderConfig {
        issuer: issuer.to_owned(),
        name_en: "Alberta.ca Account (test)".into(),
        name_fr: "Compte Alberta.ca (test)".into(),
        clients: vec![ClientConfig {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            redirect_uris: vec![REDIRECT_URI.into()],
        }],
        acr_values: ACR_VALUES.iter().map(|s| s.to_string()).collect(),
        claim_names: BTreeMap::new(),
        persons: demo::provider::test_persons("CA-AB"),
        fault,
        clock: demo::provider::system_clock(),
    }
}

/// Serves `config` (whose issuer must be `url`) on `listener` in the background.
pub fn spawn_provider(listener: TcpListener, config: ProviderConfig) {
    tokio::spawn(demo::provider::serve(
        listener,
        config,
        std::future::pending(),
    ));
}

/// A provider with the test client, on a fresh port; returns its issuer.
pub async fn start_provider(fault: Option<Fault>) -> String {
    let (listener, issuer) = bind().await;
    let app = demo::provider::router(provider_config(&issuer, fault)).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    issuer
}

pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        verifier.as_bytes(),
    ))
}

/// The parameters of a valid authorization request.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    pub params: Vec<(String, String)>,
    pub verifier: String,
    pub state: String,
    pub nonce: String,
}

impl AuthRequest {
    pub fn valid() -> Self {
        let verifier = "verifier-0123456789-0123456789-0123456789-abc".to_owned();
        let state = "state-123".to_owned();
        let nonce = "nonce-456".to_owned();
        let params = [
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "openid profile email address"),
            ("state", &state),
            ("nonce", &nonce),
            ("code_challenge", &challenge(&verifier)),
            ("code_challenge_method", "S256"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        Self {
            params,
            verifier,
            state,
            nonce,
        }
    }

    pub fn set(mut self, name: &str, value: &str) -> Self {
        self.params.retain(|(k, _)| k != name);
        self.params.push((name.into(), value.into()));
        self
    }

    pub fn without(mut self, name: &str) -> Self {
        self.params.retain(|(k, _)| k != name);
        self
    }

    pub fn url(&self, issuer: &str) -> String {
        let mut url = url::Url::parse(&format!("{issuer}/authorize")).unwrap();
        url.query_pairs_mut().extend_pairs(self.params.iter());
        url.to_string()
    }
}

pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .unwrap()
        .to_owned()
}

pub fn query_of(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// Signs in through `login_hint`; returns the redirect's query (code, state, iss).
pub async fn sign_in_with_hint(
    http: &reqwest::Client,
    issuer: &str,
    request: &AuthRequest,
    person: &str,
) -> HashMap<String, String> {
    let request = request.clone().set("login_hint", person);
    let response = http.get(request.url(issuer)).send().await.unwrap();
    assert_eq!(
        response.status(),
        303,
        "{}",
        response.text().await.unwrap_or_default()
    );
    let location = location(&response);
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    query_of(&location)
}

/// Redeems a code with client_secret_basic.
pub async fn redeem(
    http: &reqwest::Client,
    issuer: &str,
    code: &str,
    verifier: &str,
) -> reqwest::Response {
    http.post(format!("{issuer}/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap()
}

/// Signs a person in with `login_hint` and redeems the code; returns the token response.
pub async fn tokens_for(issuer: &str, person: &str) -> Value {
    let http = browser();
    let request = AuthRequest::valid();
    let answer = sign_in_with_hint(&http, issuer, &request, person).await;
    let response = redeem(&http, issuer, &answer["code"], &request.verifier).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// A compact JWS's header, payload (decoded, unverified) and signature bytes.
pub fn decode(token: &str) -> (Value, Value, Vec<u8>) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    let json = |p: &str| serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap();
    (
        json(parts[0]),
        json(parts[1]),
        URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
    )
}

pub async fn jwks(issuer: &str) -> Value {
    reqwest::get(format!("{issuer}/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Whether `token` is ES256-signed by the key its kid names in `jwks`.
pub fn verifies_with(token: &str, jwks: &Value) -> bool {
    let (header, _, _) = decode(token);
    let Some(key) = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
    else {
        return false;
    };
    demo::jose::verify_with_jwk(token, key.as_object().unwrap(), &["ES256"]).is_ok()
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A plain client, with the process's TLS provider installed.
pub fn http() -> reqwest::Client {
    demo::jose::http_client_builder().unwrap().build().unwrap()
}
