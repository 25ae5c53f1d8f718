//! One complete login, step by step, as a browser and a relying party would do it.
//!
//! Brokered (five steps): `authorize` at the broker (303 to the provider), `provider` (the demo
//! provider signs `login_hint` in at once: 303 to the broker's `/callback`), `callback` (303 to
//! the relying party's redirect URI, whose `state` and `iss` are checked; it is not fetched),
//! `token` (code redemption) and `verify` (the ID token against the JWKS fetched at start).
//!
//! Single hop (three steps): `authorize` at a provider with `login_hint` (303 straight to the
//! redirect URI), `token`, `verify`.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION};
use serde_json::Value;
use url::{Host, Url};

use crate::cookies::CookieJar;
use crate::verify::IdTokenVerifier;

/// Why a login failed: a short kind, the key under which failures are counted.
#[derive(Debug)]
pub struct Fail {
    pub kind: String,
}

impl Fail {
    pub fn new(kind: impl Into<String>) -> Self {
        Self { kind: kind.into() }
    }

    fn transport(step: &str, e: &reqwest::Error) -> Self {
        let what = if e.is_timeout() {
            "timeout"
        } else if e.is_connect() {
            "connect"
        } else {
            "http"
        };
        Self::new(format!("{step}_{what}"))
    }
}

/// Keeps an error code from the network usable as a counter key.
fn sanitize(code: &str) -> String {
    code.chars()
        .take(40)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Auth {
    /// client_secret_basic
    Basic,
    /// client_secret_post
    Post,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Brokered,
    SingleHop,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Self::Brokered => "brokered",
            Self::SingleHop => "single_hop",
        }
    }
}

/// Loopback hosts only, unless `--allow-remote`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Everything a login needs, resolved once at start.
#[derive(Debug)]
pub struct Target {
    pub mode: Mode,
    /// The OpenID provider logged in at: the broker, or the provider itself in single hop.
    pub issuer: String,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
    pub scope: String,
    pub idp_hint: Option<String>,
    pub login_hint: String,
    pub auth: Auth,
    pub allow_remote: bool,
    /// On the consent page, tick "remember" (later logins of the person then skip the page).
    pub remember_consent: bool,
    pub verifier: IdTokenVerifier,
}

/// Fetches a provider's discovery document and JWKS (once, at start).
pub async fn discover(
    http: &reqwest::Client,
    issuer: &str,
    allow_remote: bool,
) -> anyhow::Result<(Url, Url, Value)> {
    let url = Url::parse(&format!("{issuer}/.well-known/openid-configuration"))?;
    let get = |url: Url| async move {
        if !allow_remote && !is_loopback(&url) {
            bail!("{url} is not on loopback (use --allow-remote to load a remote host)");
        }
        let r = http
            .get(url.clone())
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        if !r.status().is_success() {
            bail!("GET {url}: {}", r.status());
        }
        r.json::<Value>()
            .await
            .with_context(|| format!("GET {url}: not JSON"))
    };
    let doc = get(url).await?;
    if doc["issuer"].as_str() != Some(issuer) {
        bail!(
            "discovery at {issuer} states the issuer {} (expected exactly {issuer})",
            doc["issuer"]
        );
    }
    let endpoint = |name: &str| -> anyhow::Result<Url> {
        let text = doc[name]
            .as_str()
            .with_context(|| format!("discovery has no {name}"))?;
        Url::parse(text).with_context(|| format!("discovery {name} {text:?}"))
    };
    let authorization = endpoint("authorization_endpoint")?;
    let token = endpoint("token_endpoint")?;
    let jwks = get(endpoint("jwks_uri")?).await?;
    Ok((authorization, token, jwks))
}

/// A fresh browser for one login: either the shared pooled client with a jar handled by hand,
/// or (`--client-per-login`) a client of its own with reqwest's cookie store.
#[derive(Debug)]
pub enum Browser<'a> {
    Shared {
        client: &'a reqwest::Client,
        jar: CookieJar,
    },
    Own(reqwest::Client),
}

/// `roots` are trusted in addition to the built-in roots (`--ca-file`: a broker served over
/// https with a throw-away certificate).
pub fn build_client(
    timeout: Duration,
    cookie_store: bool,
    roots: &[reqwest::Certificate],
) -> anyhow::Result<reqwest::Client> {
    let mut builder = demo::jose::http_client_builder()?
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(cookie_store)
        .timeout(timeout)
        .connect_timeout(timeout)
        .tcp_nodelay(true);
    for root in roots {
        builder = builder.add_root_certificate(root.clone());
    }
    builder.build().context("cannot build the HTTP client")
}

/// A response, read to its end (so that the connection goes back to the pool).
struct Fetched {
    status: StatusCode,
    location: Option<Url>,
    body: Vec<u8>,
}

impl Fetched {
    /// Expects a redirect (302 or 303); returns the absolute `Location`.
    fn redirect(self, step: &str) -> Result<Url, Fail> {
        if self.status != StatusCode::SEE_OTHER && self.status != StatusCode::FOUND {
            return Err(Fail::new(format!("{step}_status_{}", self.status.as_u16())));
        }
        self.location
            .ok_or_else(|| Fail::new(format!("{step}_no_location")))
    }
}

/// The value of `<input ... name="NAME" value="VALUE">` in a page the broker rendered.
fn hidden<'a>(html: &'a str, name: &str) -> Option<&'a str> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let len = html[start..].find('"')?;
    Some(&html[start..start + len])
}

impl Browser<'_> {
    /// GETs `url` (or POSTs `form` to it) with this browser's cookies.
    async fn fetch(
        &mut self,
        step: &str,
        url: Url,
        form: Option<&[(&str, &str)]>,
        allow_remote: bool,
    ) -> Result<Fetched, Fail> {
        if !allow_remote && !is_loopback(&url) {
            return Err(Fail::new(format!("{step}_non_loopback")));
        }
        let (client, jar) = match self {
            Self::Shared { client, jar } => (&**client, Some(jar)),
            Self::Own(client) => (&*client, None),
        };
        let mut request = match form {
            Some(form) => client.post(url.clone()).form(form),
            None => client.get(url.clone()),
        };
        if let Some(cookie) = jar.as_ref().and_then(|j| j.header_for(&url)) {
            request = request.header(COOKIE, cookie);
        }
        let response = request
            .send()
            .await
            .map_err(|e| Fail::transport(step, &e))?;
        if let Some(jar) = jar {
            jar.store(&url, response.headers());
        }
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|l| url.join(l).ok());
        let body = response
            .bytes()
            .await
            .map_err(|e| Fail::transport(step, &e))?
            .to_vec();
        Ok(Fetched {
            status,
            location,
            body,
        })
    }

    async fn redirect(&mut self, step: &str, url: Url, allow_remote: bool) -> Result<Url, Fail> {
        self.fetch(step, url, None, allow_remote)
            .await?
            .redirect(step)
    }
}

/// The per-login secrets a relying party keeps.
struct Login {
    state: String,
    nonce: String,
    verifier: String,
}

/// 32 random bytes. AWS-LC aborts the process itself when the system's entropy cannot be read.
pub(crate) fn random_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    bytes
}

fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes())
}

impl Login {
    fn new() -> Self {
        Self {
            state: random_token(),
            nonce: random_token(),
            verifier: random_token(),
        }
    }

    fn challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            self.verifier.as_bytes(),
        ))
    }
}

fn form_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

impl Target {
    fn is_redirect_uri(&self, url: &Url) -> bool {
        let text = url.as_str();
        text.split_once('?').map_or(text, |(base, _)| base) == self.redirect_uri
    }

    fn authorize_url(&self, login: &Login) -> Url {
        let mut url = self.authorization_endpoint.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", &self.client_id)
                .append_pair("redirect_uri", &self.redirect_uri)
                .append_pair("response_type", "code")
                .append_pair("scope", &self.scope)
                .append_pair("state", &login.state)
                .append_pair("nonce", &login.nonce)
                .append_pair("code_challenge", &login.challenge())
                .append_pair("code_challenge_method", "S256");
            match (self.mode, &self.idp_hint) {
                (Mode::Brokered, Some(hint)) => {
                    q.append_pair("idp_hint", hint);
                }
                (Mode::SingleHop, _) => {
                    q.append_pair("login_hint", &self.login_hint);
                }
                (Mode::Brokered, None) => {}
            }
        }
        url
    }

    /// The authorization response at the relying party: `state`, `iss` checked; the code.
    fn code_from(&self, step: &str, url: &Url, login: &Login) -> Result<String, Fail> {
        if !self.is_redirect_uri(url) {
            return Err(Fail::new(format!("{step}_unexpected_redirect")));
        }
        let (mut code, mut state, mut iss, mut error) = (None, None, None, None);
        for (k, v) in url.query_pairs() {
            match k.as_ref() {
                "code" => code = Some(v.into_owned()),
                "state" => state = Some(v.into_owned()),
                "iss" => iss = Some(v.into_owned()),
                "error" => error = Some(v.into_owned()),
                _ => {}
            }
        }
        if let Some(error) = error {
            return Err(Fail::new(format!("{step}_error_{}", sanitize(&error))));
        }
        if state.as_deref() != Some(login.state.as_str()) {
            return Err(Fail::new("state_mismatch"));
        }
        if iss.as_deref() != Some(self.issuer.as_str()) {
            return Err(Fail::new("iss_mismatch"));
        }
        code.ok_or_else(|| Fail::new(format!("{step}_no_code")))
    }

    async fn redeem(
        &self,
        http: &reqwest::Client,
        code: &str,
        login: &Login,
    ) -> Result<String, Fail> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("code_verifier", login.verifier.as_str()),
        ];
        let mut request = http.post(self.token_endpoint.clone());
        match self.auth {
            Auth::Basic => {
                // RFC 6749 2.3.1: form-urlencoded before base64.
                request = request.basic_auth(
                    form_encode(&self.client_id),
                    Some(form_encode(&self.client_secret)),
                );
            }
            Auth::Post => {
                form.push(("client_id", self.client_id.as_str()));
                form.push(("client_secret", self.client_secret.as_str()));
            }
        }
        let response = request
            .form(&form)
            .send()
            .await
            .map_err(|e| Fail::transport("token", &e))?;
        let status = response.status();
        let body: Option<Value> = response.json().await.ok();
        if status != StatusCode::OK {
            return Err(match body.as_ref().and_then(|b| b["error"].as_str()) {
                Some(error) => Fail::new(format!("token_{}", sanitize(error))),
                None => Fail::new(format!("token_status_{}", status.as_u16())),
            });
        }
        body.as_ref()
            .and_then(|b| b["id_token"].as_str())
            .map(str::to_owned)
            .ok_or_else(|| Fail::new("token_no_id_token"))
    }

    /// Runs one whole login; returns each step with its duration.
    pub async fn login(
        &self,
        mut browser: Browser<'_>,
        backchannel: &reqwest::Client,
    ) -> Result<Vec<(&'static str, Duration)>, Fail> {
        let login = Login::new();
        let mut steps = Vec::with_capacity(6);
        let mut mark = Instant::now();
        let mut lap = |steps: &mut Vec<(&'static str, Duration)>, step: &'static str| {
            let now = Instant::now();
            steps.push((step, now - mark));
            mark = now;
        };
        let remote = self.allow_remote;
        let code = match self.mode {
            Mode::Brokered => {
                let upstream = browser
                    .redirect("authorize", self.authorize_url(&login), remote)
                    .await?;
                if self.is_redirect_uri(&upstream) {
                    // The broker refused and sent the browser back to the relying party.
                    return Err(self
                        .code_from("authorize", &upstream, &login)
                        .err()
                        .unwrap_or_else(|| Fail::new("authorize_skipped_provider")));
                }
                let mut upstream = upstream;
                if !upstream.query_pairs().any(|(k, _)| k == "login_hint") {
                    upstream
                        .query_pairs_mut()
                        .append_pair("login_hint", &self.login_hint);
                }
                lap(&mut steps, "authorize");
                let callback = browser.redirect("provider", upstream, remote).await?;
                if !callback
                    .as_str()
                    .starts_with(&format!("{}/callback", self.issuer))
                {
                    return Err(Fail::new("provider_unexpected_redirect"));
                }
                lap(&mut steps, "provider");
                let fetched = browser
                    .fetch("callback", callback.clone(), None, remote)
                    .await?;
                if fetched.status == StatusCode::OK {
                    // The notice-and-consent page: share (and remember, if asked).
                    let html = String::from_utf8_lossy(&fetched.body);
                    let (Some(txn), Some(csrf)) = (hidden(&html, "txn"), hidden(&html, "csrf"))
                    else {
                        return Err(Fail::new("callback_status_200"));
                    };
                    let lang = hidden(&html, "lang").unwrap_or("en");
                    let mut form = vec![
                        ("txn", txn),
                        ("csrf", csrf),
                        ("lang", lang),
                        ("decision", "share"),
                    ];
                    if self.remember_consent {
                        form.push(("remember", "1"));
                    }
                    lap(&mut steps, "callback");
                    let url = callback
                        .join("/consent")
                        .map_err(|_| Fail::new("consent_url"))?;
                    let back = browser
                        .fetch("consent", url, Some(&form), remote)
                        .await?
                        .redirect("consent")?;
                    let code = self.code_from("consent", &back, &login)?;
                    lap(&mut steps, "consent");
                    code
                } else {
                    let back = fetched.redirect("callback")?;
                    let code = self.code_from("callback", &back, &login)?;
                    lap(&mut steps, "callback");
                    code
                }
            }
            Mode::SingleHop => {
                let back = browser
                    .redirect("authorize", self.authorize_url(&login), remote)
                    .await?;
                let code = self.code_from("authorize", &back, &login)?;
                lap(&mut steps, "authorize");
                code
            }
        };
        let id_token = self.redeem(backchannel, &code, &login).await?;
        lap(&mut steps, "token");
        self.verifier.verify(&id_token, &login.nonce)?;
        lap(&mut steps, "verify");
        Ok(steps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_hidden_inputs_and_redirect_uris() {
        let html = r#"<form method="post" action="/consent">
<input type="hidden" name="txn" value="abc_-1">
<input type="hidden" name="csrf" value="xyz">"#;
        assert_eq!(hidden(html, "txn"), Some("abc_-1"));
        assert_eq!(hidden(html, "csrf"), Some("xyz"));
        assert_eq!(hidden(html, "lang"), None);
        assert_eq!(sanitize("invalid grant\"<x>"), "invalid_grant__x_");
    }
}
