//! The broker as an OpenID Connect client of identity providers.
//!
//! Discovery documents and key sets are fetched by [`discovery`] (which checks that a discovery
//! document names the issuer it was fetched for, and bounds every answer); the two steps of
//! every login, the authorization request and the code redemption, are built by [`exchange`],
//! and the ID token is verified by [`validation`], with jsonwebtoken on aws-lc-rs. The rest of the broker sees [`UpstreamClient`],
//! [`AuthorizationRequest`] and [`VerifiedLogin`]. An upstream ID token is unverified until
//! [`UpstreamClient::finish`] returns a `VerifiedLogin`.

pub mod bounded;
pub(crate) mod discovery;
mod error;
pub(crate) mod exchange;
pub mod logout_token;
pub mod signature;
pub mod validation;

use bounded::BoundedError;
use signature::ProviderKeys;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use trust_framework::IdentityProvider;

pub use error::UpstreamError;
/// What the broker asks a provider for: built in `trust-framework`, which the conformance suite
/// shares, so that the suite checks providers on the broker's own requests.
pub use trust_framework::upstream::AuthorizationRequest;
pub use validation::{Expected, IdTokenError, VerifiedIdToken};

use crate::metrics::UpstreamStep;
use crate::secrets::Secret;

/// How far an upstream `iat` may be from our clock. Together with the 10-minute pending-login
/// lifetime this bounds how long a nonce has to stay unique.
pub const MAX_IAT_SKEW: Duration = Duration::from_secs(120);
/// The oldest `iat` accepted: an ID token is redeemed seconds after it is issued.
pub const MAX_IAT_AGE: Duration = Duration::from_secs(600);
/// Discovery documents are refetched after this long.
const METADATA_TTL: Duration = Duration::from_secs(300);
/// An unknown kid refetches the JWKS at once (a provider that rotated its key is followed on
/// the first token signed with the new one), then not again for this long per provider, so a
/// flood of forged tokens cannot make the broker hammer a provider.
const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(60);

/// What a login uses of a provider's discovery document and key set, read once per fetch and
/// shared by the logins until the next.
#[derive(Debug)]
struct Endpoints {
    authorization: url::Url,
    token: url::Url,
    userinfo: Option<url::Url>,
    jwks_uri: url::Url,
    end_session: Option<url::Url>,
    /// The key set, parsed once per fetch: the form `signature::verify` reads.
    jwks: Arc<ProviderKeys>,
}

impl Endpoints {
    fn new(document: discovery::Document, jwks: ProviderKeys) -> Result<Self, UpstreamError> {
        let token = document.token_endpoint.ok_or_else(|| {
            UpstreamError::Metadata("the discovery document names no token endpoint".into())
        })?;
        Ok(Self {
            authorization: document.authorization_endpoint,
            token,
            userinfo: document.userinfo_endpoint,
            jwks_uri: document.jwks_uri,
            end_session: document.end_session_endpoint,
            jwks: Arc::new(jwks),
        })
    }
}

#[derive(Debug)]
struct Cached {
    endpoints: Arc<Endpoints>,
    fetched: Instant,
    /// When an unknown kid last made the broker refetch the JWKS (none since discovery).
    kid_refetched: Option<Instant>,
}

/// What redeeming the provider's code needs, from the pending login.
#[derive(Debug, Clone, Copy)]
pub struct CodeRedemption<'a> {
    pub redirect_uri: &'a str,
    pub code: &'a str,
    pub pkce_verifier: &'a str,
    pub nonce: &'a str,
}

/// What signing out at a provider sends there.
#[derive(Debug, Clone, Copy)]
pub struct ProviderSignOut<'a> {
    /// The provider's own ID token from the sign-in.
    pub id_token_hint: &'a str,
    /// The broker's `/logout/callback`, registered at the provider.
    pub post_logout_redirect_uri: &'a str,
    pub state: &'a str,
    pub ui_locales: Option<&'a str>,
}

/// A login at a provider, after strict validation of its ID token.
#[derive(Debug, Clone)]
pub struct VerifiedLogin {
    pub subject: String,
    pub acr: Option<String>,
    pub auth_time: Option<i64>,
    /// Every claim of the verified ID token, merged with userinfo when it was fetched.
    pub claims: Map<String, Value>,
    /// The provider's session id (`sid`), when its ID token had one.
    pub sid: Option<String>,
    /// The ID token itself: the hint when the person signs out at the provider.
    pub id_token: String,
}

#[derive(Debug, Clone)]
pub struct UpstreamClient {
    http: reqwest::Client,
    cache: Arc<Mutex<HashMap<String, Arc<Mutex<Cached>>>>>,
    /// The CA bundle trusted beside the web's roots, for the conformance runs of the admin API,
    /// which must trust what the broker trusts.
    ca_bundle: Option<std::path::PathBuf>,
}

impl UpstreamClient {
    /// `timeout` bounds every upstream call. Redirects are never followed: a provider must
    /// answer at the URL it published (no SSRF through redirects). Certificates are verified
    /// against the built-in web PKI roots (reqwest's default; nothing here turns it off).
    pub fn new(timeout: Duration) -> Result<Self, UpstreamError> {
        Self::build(timeout, Vec::new())
    }

    /// As [`UpstreamClient::new`], also trusting every certificate of the PEM file `ca_bundle`
    /// as a root, in addition to the built-in ones: for test deployments whose providers have
    /// certificates from a private CA. Verification itself stays on.
    pub fn with_ca_bundle(timeout: Duration, ca_bundle: &Path) -> Result<Self, UpstreamError> {
        let shown = ca_bundle.display();
        let pem = std::fs::read(ca_bundle)
            .map_err(|e| UpstreamError::Configuration(format!("CA bundle {shown}: {e}")))?;
        let roots = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| UpstreamError::Configuration(format!("CA bundle {shown}: {e}")))?;
        if roots.is_empty() {
            return Err(UpstreamError::Configuration(format!(
                "CA bundle {shown}: no certificate"
            )));
        }
        let mut client = Self::build(timeout, roots)?;
        client.ca_bundle = Some(ca_bundle.to_path_buf());
        Ok(client)
    }

    /// The CA bundle this client trusts beside the web's roots, if any.
    pub fn ca_bundle(&self) -> Option<&Path> {
        self.ca_bundle.as_deref()
    }

    fn build(timeout: Duration, roots: Vec<reqwest::Certificate>) -> Result<Self, UpstreamError> {
        crate::crypto::install_provider()
            .map_err(|e| UpstreamError::Configuration(e.to_string()))?;
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("pan-canadian-broker/", env!("CARGO_PKG_VERSION")))
            .tls_built_in_root_certs(true);
        for root in roots {
            builder = builder.add_root_certificate(root);
        }
        let http = builder
            .build()
            .map_err(|e| UpstreamError::Unreachable(e.to_string()))?;
        Ok(Self {
            http,
            cache: Arc::default(),
            ca_bundle: None,
        })
    }

    /// The HTTP client toward providers, shared with the fetches of relying parties'
    /// `jwks_uri` so that both trust the same roots.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    fn entry(&self, provider_id: &str) -> Option<Arc<Mutex<Cached>>> {
        self.cache.lock().ok()?.get(provider_id).cloned()
    }

    /// The provider's endpoints and keys from its discovery document, cached for a few
    /// minutes.
    async fn endpoints(
        &self,
        provider: &IdentityProvider,
    ) -> Result<Arc<Endpoints>, UpstreamError> {
        if let Some(entry) = self.entry(&provider.id)
            && let Ok(cached) = entry.lock()
            && cached.fetched.elapsed() < METADATA_TTL
        {
            return Ok(cached.endpoints.clone());
        }
        // The document and then its key set, timed together as one discovery step. The
        // document's issuer must equal the registered one exactly.
        let discover = async {
            let document = discovery::fetch_document(&self.http, &provider.issuer).await?;
            let jwks = discovery::fetch_keys(&self.http, &document.jwks_uri).await?;
            Ok::<_, UpstreamError>((document, jwks))
        };
        let (document, jwks) = timed(provider, UpstreamStep::Discovery, discover).await?;
        let endpoints = Arc::new(Endpoints::new(document, jwks)?);
        let cached = Cached {
            endpoints: endpoints.clone(),
            fetched: Instant::now(),
            kid_refetched: None,
        };
        if let Ok(mut map) = self.cache.lock() {
            map.insert(provider.id.clone(), Arc::new(Mutex::new(cached)));
        }
        Ok(endpoints)
    }

    /// Refetches the JWKS after an unknown kid, unless an unknown kid already did within
    /// [`JWKS_REFETCH_INTERVAL`]. Returns whether the cached keys may be newer than those the
    /// token was checked against (fetched now, or by a recent refetch), that is, whether
    /// checking again is worth it.
    async fn refresh_jwks(&self, provider: &IdentityProvider) -> Result<bool, UpstreamError> {
        let Some(entry) = self.entry(&provider.id) else {
            return Ok(false);
        };
        let jwks_uri = {
            let mut cached = entry
                .lock()
                .map_err(|_| UpstreamError::Metadata("cache poisoned".into()))?;
            if let Some(at) = cached.kid_refetched
                && at.elapsed() < JWKS_REFETCH_INTERVAL
            {
                return Ok(true);
            }
            // Taken before the fetch: tokens arriving meanwhile do not fetch again.
            cached.kid_refetched = Some(Instant::now());
            cached.endpoints.jwks_uri.clone()
        };
        let fetch = discovery::fetch_keys(&self.http, &jwks_uri);
        let jwks = Arc::new(timed(provider, UpstreamStep::Jwks, fetch).await?);
        let mut cached = entry
            .lock()
            .map_err(|_| UpstreamError::Metadata("cache poisoned".into()))?;
        let old = &cached.endpoints;
        cached.endpoints = Arc::new(Endpoints {
            authorization: old.authorization.clone(),
            token: old.token.clone(),
            userinfo: old.userinfo.clone(),
            jwks_uri: old.jwks_uri.clone(),
            end_session: old.end_session.clone(),
            jwks,
        });
        Ok(true)
    }

    /// The URL to send the person to at the provider.
    pub async fn authorization_url(
        &self,
        provider: &IdentityProvider,
        request: &AuthorizationRequest,
    ) -> Result<url::Url, UpstreamError> {
        let endpoints = self.endpoints(provider).await?;
        Ok(exchange::authorization_url(
            &endpoints.authorization,
            &provider.client_id,
            request,
        ))
    }

    /// Where to send the person to sign out at the provider too (RP-Initiated Logout 1.0), or
    /// `None` when its discovery document names no end-session endpoint.
    pub async fn end_session_url(
        &self,
        provider: &IdentityProvider,
        logout: &ProviderSignOut<'_>,
    ) -> Result<Option<url::Url>, UpstreamError> {
        let endpoints = self.endpoints(provider).await?;
        let Some(mut url) = endpoints.end_session.clone() else {
            return Ok(None);
        };
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("id_token_hint", logout.id_token_hint)
                .append_pair("client_id", &provider.client_id)
                .append_pair("post_logout_redirect_uri", logout.post_logout_redirect_uri)
                .append_pair("state", logout.state);
            if let Some(locales) = logout.ui_locales {
                query.append_pair("ui_locales", locales);
            }
        }
        Ok(Some(url))
    }

    /// Verifies a logout token from `provider` (`logout_token::verify`), against its key set
    /// fetched again once when no key of the cached one could have signed it.
    pub async fn verify_logout_token(
        &self,
        provider: &IdentityProvider,
        token: &str,
        now: time::OffsetDateTime,
    ) -> Result<logout_token::ProviderLogout, UpstreamError> {
        let endpoints = self.endpoints(provider).await?;
        let expected = logout_token::ExpectedLogout {
            issuer: &provider.issuer,
            client_id: &provider.client_id,
            now,
        };
        match logout_token::verify(token, &endpoints.jwks, &expected) {
            Err(e) if e.is_no_matching_key() && self.refresh_jwks(provider).await? => {
                let endpoints = self.endpoints(provider).await?;
                logout_token::verify(token, &endpoints.jwks, &expected)
            }
            verified => verified,
        }
        .map_err(|e| UpstreamError::InvalidIdToken(format!("logout token: {e}")))
    }

    /// Redeems the code and validates the ID token strictly, then fetches userinfo when
    /// `want_userinfo` says the ID token lacks agreed attributes.
    pub async fn finish(
        &self,
        provider: &IdentityProvider,
        secret: &Secret,
        redemption: &CodeRedemption<'_>,
        now: time::OffsetDateTime,
        want_userinfo: impl Fn(&Map<String, Value>) -> bool,
    ) -> Result<VerifiedLogin, UpstreamError> {
        let endpoints = self.endpoints(provider).await?;
        let call = self.redeem(&endpoints, provider, secret, redemption);
        let tokens = timed(provider, UpstreamStep::Token, call).await?;
        let id_token = tokens.id_token.as_deref().unwrap_or_default();
        let expected = Expected {
            issuer: &provider.issuer,
            client_id: &provider.client_id,
            nonce: redemption.nonce,
            now,
        };
        let verified = match validation::verify(id_token, &endpoints.jwks, &expected) {
            Err(e) if e.is_no_matching_key() && self.refresh_jwks(provider).await? => {
                let endpoints = self.endpoints(provider).await?;
                validation::verify(id_token, &endpoints.jwks, &expected)
            }
            verified => verified,
        }
        .map_err(UpstreamError::from_id_token)?;
        let VerifiedIdToken {
            subject,
            mut claims,
        } = verified;
        let acr = claims.get("acr").and_then(Value::as_str).map(str::to_owned);
        let auth_time = claims.get("auth_time").and_then(Value::as_i64);
        let sid = claims
            .get("sid")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);

        if want_userinfo(&claims)
            && let Some(endpoint) = endpoints.userinfo.clone()
        {
            let call = self.userinfo(endpoint, &tokens.access_token);
            let info = timed(provider, UpstreamStep::Userinfo, call).await?;
            // OpenID Connect Core 5.3.2: the userinfo sub MUST match the ID token's.
            if info.get("sub").and_then(Value::as_str) != Some(subject.as_str()) {
                return Err(UpstreamError::InvalidIdToken(
                    "the userinfo sub differs from the ID token's".into(),
                ));
            }
            for (k, v) in info {
                claims.entry(k).or_insert(v);
            }
        }
        Ok(VerifiedLogin {
            subject,
            acr,
            auth_time,
            claims,
            sid,
            id_token: id_token.to_owned(),
        })
    }

    /// The code redemption (`token`), authenticated with `client_secret_basic`.
    async fn redeem(
        &self,
        endpoints: &Endpoints,
        provider: &IdentityProvider,
        secret: &Secret,
        redemption: &CodeRedemption<'_>,
    ) -> Result<exchange::Tokens, UpstreamError> {
        use reqwest::header;
        let response = self
            .http
            .post(endpoints.token.clone())
            .header(
                header::AUTHORIZATION,
                exchange::basic_authorization(&provider.client_id, secret.expose()),
            )
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .body(exchange::redemption_body(redemption))
            .send()
            .await
            .map_err(|e| {
                UpstreamError::Unreachable(format!("token endpoint: {}", error::chain(&e)))
            })?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = bounded::read_body(response, bounded::MAX_UPSTREAM_BODY)
            .await
            .map_err(|e| match e {
                BoundedError::TooLarge(_) => {
                    UpstreamError::Oversized(format!("token endpoint: {e}"))
                }
                BoundedError::Transport(e) => {
                    UpstreamError::Unreachable(format!("token endpoint: {}", error::chain(&e)))
                }
            })?;
        exchange::read_answer(status, content_type.as_deref(), &body)
    }

    async fn userinfo(
        &self,
        endpoint: url::Url,
        access_token: &str,
    ) -> Result<Map<String, Value>, UpstreamError> {
        let response = self
            .http
            .get(endpoint)
            .bearer_auth(access_token)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| UpstreamError::Unreachable(format!("userinfo: {e}")))?;
        if !response.status().is_success() {
            return Err(UpstreamError::Rejected(format!(
                "userinfo answered {}",
                response.status()
            )));
        }
        let body = bounded::read_body(response, bounded::MAX_UPSTREAM_BODY)
            .await
            .map_err(|e| match e {
                BoundedError::TooLarge(_) => UpstreamError::Oversized(format!("userinfo: {e}")),
                BoundedError::Transport(e) => UpstreamError::Unreachable(format!("userinfo: {e}")),
            })?;
        let value: Value = serde_json::from_slice(&body)
            .map_err(|e| UpstreamError::InvalidIdToken(format!("userinfo is not JSON: {e}")))?;
        match value {
            Value::Object(map) => Ok(map),
            _ => Err(UpstreamError::InvalidIdToken(
                "userinfo is not a JSON object".into(),
            )),
        }
    }
}

/// Times one call to a provider for `broker_upstream_request_duration_seconds`, and counts it
/// in `broker_upstream_errors_total` when it fails: a slow or failing provider shows there
/// before the people who cannot sign in call the help desk.
async fn timed<T, E>(
    provider: &IdentityProvider,
    step: UpstreamStep,
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let started = Instant::now();
    let result = call.await;
    crate::metrics::upstream_call(provider, step, started.elapsed(), result.is_ok());
    result
}
