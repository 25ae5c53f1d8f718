//! A scripted relying party and browser: builds authorization requests, walks the redirects
//! hop by hop (checking each), redeems codes and verifies the broker's ID tokens against its
//! JWKS. Used by the broker's in-process tests and by the end-to-end tests.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

pub fn rand_token() -> String {
    let mut bytes = [0u8; 32];
    // AWS-LC aborts the process itself when the system's entropy cannot be read.
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A plain HTTP client, with the process's TLS provider (aws-lc-rs) installed first: reqwest
/// has none of its own.
pub fn http() -> reqwest::Client {
    // Should the install fail, reqwest's own build says so loudly.
    let _ = demo::jose::install_crypto_provider();
    reqwest::Client::new()
}

/// A browser: cookies kept, redirects not followed (each hop is checked by the caller).
pub fn browser() -> Result<reqwest::Client> {
    Ok(demo::jose::http_client_builder()?
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()?)
}

/// What the relying party sends to `/authorize`.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub extra: Vec<(String, String)>,
    /// Set once the request was pushed (RFC 9126): the browser then carries only this.
    pub request_uri: Option<String>,
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
            request_uri: None,
        }
    }

    pub fn with(mut self, k: &str, v: &str) -> Self {
        self.extra.retain(|(key, _)| key != k);
        self.extra.push((k.into(), v.into()));
        self
    }

    pub fn challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            self.verifier.as_bytes(),
        ))
    }

    pub fn url(&self, broker_url: &str) -> String {
        if let Some(request_uri) = &self.request_uri {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("client_id", &self.client_id)
                .append_pair("request_uri", request_uri)
                .finish();
            return format!("{broker_url}/authorize?{query}");
        }
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.pairs())
            .finish();
        format!("{broker_url}/authorize?{query}")
    }

    /// The authorization request's parameters, as sent in a URL or pushed to `/par`.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = [
            ("client_id", self.client_id.clone()),
            ("redirect_uri", self.redirect_uri.clone()),
            ("response_type", "code".into()),
            ("scope", self.scope.clone()),
            ("state", self.state.clone()),
            ("nonce", self.nonce.clone()),
            ("code_challenge", self.challenge()),
            ("code_challenge_method", "S256".into()),
        ]
        .into_iter()
        // A parameter given with `with` replaces the default one.
        .filter(|(k, _)| !self.extra.iter().any(|(e, _)| e == k))
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        pairs.extend(self.extra.iter().cloned());
        pairs
    }
}

pub fn location(r: &reqwest::Response) -> Result<String> {
    Ok(r.headers()
        .get("location")
        .ok_or_else(|| anyhow!("no Location on a {} response", r.status()))?
        .to_str()?
        .to_owned())
}

pub fn query(url: &str) -> Result<HashMap<String, String>> {
    Ok(url::Url::parse(url)?.query_pairs().into_owned().collect())
}

/// The value of a hidden input `name` in a page.
pub fn hidden(html: &str, name: &str) -> Result<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .ok_or_else(|| anyhow!("no {name} in page"))?
        + marker.len();
    let end = html[start..]
        .find('"')
        .ok_or_else(|| anyhow!("unterminated {name}"))?
        + start;
    Ok(html[start..end].to_owned())
}

/// The redirect back to the relying party that ends a browser's trip.
#[derive(Debug)]
pub struct Outcome {
    pub redirect: String,
    pub params: HashMap<String, String>,
}

/// How the browser behaves at the provider and on the way back.
#[derive(Debug, Clone, Default)]
pub struct Walk {
    /// The provider to choose on the picker.
    pub provider: String,
    /// Signs this test person in at the provider without its page.
    pub login_hint: Option<String>,
    /// Delivers the provider's callback to another broker replica (as a load balancer might).
    pub callback_base: Option<String>,
    /// The decision on the notice-and-consent page: `share` when unset.
    pub consent: Option<String>,
    /// Ticks "remember my decision" on the consent page.
    pub remember: bool,
}

/// Submits the consent page's form with `decision`.
async fn decide(
    http: &reqwest::Client,
    base: &str,
    html: &str,
    decision: &str,
    remember: bool,
) -> Result<reqwest::Response> {
    let mut form = vec![
        ("txn", hidden(html, "txn")?),
        ("csrf", hidden(html, "csrf")?),
        ("lang", hidden(html, "lang")?),
        ("decision", decision.to_owned()),
    ];
    if remember {
        form.push(("remember", "1".into()));
    }
    Ok(http
        .post(format!("{base}/consent"))
        .form(&form)
        .send()
        .await?)
}

/// Runs the browser side of a login: `/authorize`, the picker if shown, the provider, the
/// broker's callback, and stops at the redirect to the relying party.
pub async fn browse(
    http: &reqwest::Client,
    broker_url: &str,
    req: &AuthRequest,
    walk: &Walk,
) -> Result<Outcome> {
    let mut r = http.get(req.url(broker_url)).send().await?;
    if r.status() == 200 {
        let html = r.text().await?;
        if html.contains("action=\"/consent\"") {
            // The browser's session stood in for the sign-in: the consent page at once.
            let decision = walk.consent.clone().unwrap_or_else(|| "share".into());
            r = decide(http, broker_url, &html, &decision, walk.remember).await?;
        } else if !html.contains("<form") {
            bail!("expected the picker, got {html}");
        } else {
            let form = [
                ("txn", hidden(&html, "txn")?),
                ("csrf", hidden(&html, "csrf")?),
                ("lang", "en".into()),
                ("provider", walk.provider.clone()),
            ];
            r = http
                .post(format!("{broker_url}/authorize/select"))
                .form(&form)
                .send()
                .await?;
        }
    }
    if r.status() != 303 {
        let status = r.status();
        bail!(
            "expected a redirect from /authorize, got {status}: {}",
            r.text().await?
        );
    }
    let mut next = location(&r)?;
    for _ in 0..12 {
        if next.starts_with(&req.redirect_uri) {
            let params = query(&next)?;
            return Ok(Outcome {
                redirect: next,
                params,
            });
        }
        let mut url = url::Url::parse(&next)?;
        if url.path().ends_with("/authorize")
            && !next.starts_with(broker_url)
            && let Some(person) = &walk.login_hint
            && !url.query_pairs().any(|(k, _)| k == "login_hint")
        {
            url.query_pairs_mut().append_pair("login_hint", person);
        }
        if url.path() == "/callback"
            && let Some(base) = &walk.callback_base
        {
            url = url::Url::parse(&format!("{base}/callback?{}", url.query().unwrap_or("")))?;
        }
        let base = format!("{}://{}", url.scheme(), url.authority());
        let here = url.clone();
        let mut r = http.get(url).send().await?;
        if r.status() == 200 && next.contains("/callback?") {
            let html = r.text().await?;
            if !html.contains("action=\"/consent\"") {
                bail!("expected the consent page, got {html}");
            }
            let decision = walk.consent.clone().unwrap_or_else(|| "share".into());
            r = decide(http, &base, &html, &decision, walk.remember).await?;
        }
        if r.status() != 303 && r.status() != 302 {
            let status = r.status();
            bail!(
                "expected a redirect at {next}, got {status}: {}",
                r.text().await?
            );
        }
        // A provider may answer with a relative Location (oidc-provider's interactions do).
        next = here.join(&location(&r)?)?.to_string();
    }
    bail!("too many redirects")
}

/// Redeems a code with client_secret_basic; returns the status and the JSON body.
pub async fn redeem(
    broker_url: &str,
    req: &AuthRequest,
    code: &str,
    secret: &str,
) -> Result<(u16, Value, Option<String>)> {
    let r = http()
        .post(format!("{broker_url}/token"))
        .basic_auth(&req.client_id, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &req.redirect_uri),
            ("code_verifier", &req.verifier),
        ])
        .send()
        .await?;
    let status = r.status().as_u16();
    let cache = r
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok((
        status,
        r.json().await.context("token response is not JSON")?,
        cache,
    ))
}

/// Verifies an ID token against the issuer's JWKS; returns (claims, header).
pub async fn verify_id_token(
    jwks_url: &str,
    token: &str,
) -> Result<(Map<String, Value>, Map<String, Value>)> {
    let jwks: Value = http().get(jwks_url).send().await?.json().await?;
    let header = demo::jose::unverified_header(token)?;
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let jwk = jwks["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"] == kid.as_str()))
        .and_then(Value::as_object)
        .ok_or_else(|| anyhow!("kid {kid} is not in the JWKS"))?;
    let allowed = ["ES256", "PS256", "RS256", "EdDSA"];
    let (header, payload) = demo::jose::verify_with_jwk(token, jwk, &allowed)?;
    Ok((serde_json::from_slice(&payload)?, header))
}
