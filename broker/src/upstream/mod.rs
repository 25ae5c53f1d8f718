//! The broker as an OpenID Connect client of identity providers.
//!
//! openidconnect's generic-heavy `Client` stays inside this module; the rest of the broker sees
//! [`UpstreamClient`], [`AuthorizationRequest`] and [`VerifiedLogin`]. An upstream ID token is
//! unverified until [`UpstreamClient::finish`] returns a `VerifiedLogin`.

pub mod bounded;
mod error;

use bounded::{Bounded, BoundedError};
pub mod signature;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{
    CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreIdTokenVerifier,
    CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AuthenticationContextClass, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    LanguageTag, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    Scope,
};
use serde_json::{Map, Value};
use trust_framework::IdentityProvider;

pub use error::UpstreamError;

use crate::metrics::UpstreamStep;
use crate::secrets::Secret;

/// The algorithms accepted on upstream ID tokens. Never `none`, never HMAC: a provider's
/// token must be verifiable with its published public key and nothing else.
pub const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 6] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

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

#[derive(Debug)]
struct Cached {
    metadata: CoreProviderMetadata,
    fetched: Instant,
    /// When an unknown kid last made the broker refetch the JWKS (none since discovery).
    kid_refetched: Option<Instant>,
}

/// What the broker asks a provider for.
#[derive(Debug, Clone, Default)]
pub struct AuthorizationRequest {
    pub redirect_uri: String,
    pub state: String,
    pub nonce: String,
    pub pkce_challenge: String,
    pub scopes: Vec<String>,
    pub acr_values: Vec<String>,
    /// The OIDC `claims` request parameter (JSON), naming the provider's own claim names.
    pub claims: Option<Value>,
    pub login_hint: Option<String>,
    pub ui_locales: Vec<String>,
    /// The service's `max_age` (0 for `prompt=login`): sent as `max_age`, with `prompt=login`
    /// when 0.
    pub max_age: Option<u64>,
}

/// What redeeming the provider's code needs, from the pending login.
#[derive(Debug, Clone, Copy)]
pub struct CodeRedemption<'a> {
    pub redirect_uri: &'a str,
    pub code: &'a str,
    pub pkce_verifier: &'a str,
    pub nonce: &'a str,
}

/// A login at a provider, after strict validation of its ID token.
#[derive(Debug, Clone)]
pub struct VerifiedLogin {
    pub subject: String,
    pub acr: Option<String>,
    pub auth_time: Option<i64>,
    /// Every claim of the verified ID token, merged with userinfo when it was fetched.
    pub claims: Map<String, Value>,
}

#[derive(Debug, Clone)]
pub struct UpstreamClient {
    http: reqwest::Client,
    cache: Arc<Mutex<HashMap<String, Arc<Mutex<Cached>>>>>,
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
        Self::build(timeout, roots)
    }

    fn build(timeout: Duration, roots: Vec<reqwest::Certificate>) -> Result<Self, UpstreamError> {
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

    /// The provider's discovery document (with its JWKS), cached for a few minutes.
    async fn metadata(
        &self,
        provider: &IdentityProvider,
    ) -> Result<CoreProviderMetadata, UpstreamError> {
        if let Some(entry) = self.entry(&provider.id)
            && let Ok(cached) = entry.lock()
            && cached.fetched.elapsed() < METADATA_TTL
        {
            return Ok(cached.metadata.clone());
        }
        let issuer = IssuerUrl::new(provider.issuer.clone())
            .map_err(|e| UpstreamError::Metadata(e.to_string()))?;
        // discover_async checks that the document's issuer equals the registered one exactly.
        let http = Bounded(&self.http);
        let discovery = CoreProviderMetadata::discover_async(issuer, &http);
        let metadata = timed(provider, UpstreamStep::Discovery, discovery)
            .await
            .map_err(UpstreamError::from_discovery)?;
        let cached = Cached {
            metadata: metadata.clone(),
            fetched: Instant::now(),
            kid_refetched: None,
        };
        if let Ok(mut map) = self.cache.lock() {
            map.insert(provider.id.clone(), Arc::new(Mutex::new(cached)));
        }
        Ok(metadata)
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
            cached.metadata.jwks_uri().clone()
        };
        let http = Bounded(&self.http);
        let fetch = CoreJsonWebKeySet::fetch_async(&jwks_uri, &http);
        let jwks = timed(provider, UpstreamStep::Jwks, fetch)
            .await
            .map_err(UpstreamError::from_discovery)?;
        let mut cached = entry
            .lock()
            .map_err(|_| UpstreamError::Metadata("cache poisoned".into()))?;
        cached.metadata = cached.metadata.clone().set_jwks(jwks);
        Ok(true)
    }

    fn client(
        metadata: CoreProviderMetadata,
        provider: &IdentityProvider,
        secret: Option<&Secret>,
        redirect_uri: &str,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        UpstreamError,
    > {
        let redirect = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|e| UpstreamError::Metadata(e.to_string()))?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(provider.client_id.clone()),
            secret.map(|s| ClientSecret::new(s.expose().to_owned())),
        )
        .set_redirect_uri(redirect))
    }

    /// The URL to send the person to at the provider.
    pub async fn authorization_url(
        &self,
        provider: &IdentityProvider,
        request: &AuthorizationRequest,
    ) -> Result<url::Url, UpstreamError> {
        let metadata = self.metadata(provider).await?;
        let client = Self::client(metadata, provider, None, &request.redirect_uri)?;
        let state = request.state.clone();
        let nonce = request.nonce.clone();
        let pkce = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            request.pkce_challenge.clone(),
        ));
        let mut auth = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(nonce),
            )
            .set_pkce_challenge(pkce);
        for scope in request.scopes.iter().filter(|s| *s != "openid") {
            auth = auth.add_scope(Scope::new(scope.clone()));
        }
        for acr in &request.acr_values {
            auth = auth.add_auth_context_value(AuthenticationContextClass::new(acr.clone()));
        }
        for locale in &request.ui_locales {
            auth = auth.add_ui_locale(LanguageTag::new(locale.clone()));
        }
        if let Some(hint) = &request.login_hint {
            auth = auth.add_extra_param("login_hint", hint.clone());
        }
        if let Some(claims) = &request.claims {
            auth = auth.add_extra_param("claims", claims.to_string());
        }
        // max_age makes auth_time a required claim (OpenID Connect Core 2), which the
        // broker's check needs; prompt=login as well for 0, for providers that key re-login on it.
        if let Some(seconds) = request.max_age {
            if seconds == 0 {
                auth = auth.add_prompt(CoreAuthPrompt::Login);
            }
            auth = auth.set_max_age(std::time::Duration::from_secs(seconds));
        }
        let (url, _, _) = auth.url();
        Ok(url)
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
        let metadata = self.metadata(provider).await?;
        let userinfo_endpoint = metadata.userinfo_endpoint().map(|u| u.url().clone());
        let client = Self::client(metadata, provider, Some(secret), redemption.redirect_uri)?;
        let exchange = client
            .exchange_code(AuthorizationCode::new(redemption.code.to_owned()))
            .map_err(|e| UpstreamError::Metadata(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(redemption.pkce_verifier.to_owned()));
        let http = Bounded(&self.http);
        let response = timed(provider, UpstreamStep::Token, exchange.request_async(&http))
            .await
            .map_err(UpstreamError::from_token_request)?;
        let id_token = openidconnect::TokenResponse::id_token(&response)
            .ok_or_else(|| {
                UpstreamError::InvalidIdToken("the token response has no id_token".into())
            })?
            .clone();
        let access_token = response.access_token().secret().clone();

        let issuer = IssuerUrl::new(provider.issuer.clone())
            .map_err(|e| UpstreamError::Metadata(e.to_string()))?;
        let verify = |metadata: &CoreProviderMetadata| {
            verify_id_token(
                &id_token,
                provider,
                &issuer,
                metadata.jwks(),
                redemption.nonce,
                now,
            )
        };
        let metadata = self.metadata(provider).await?;
        let subject = match verify(&metadata) {
            Ok(s) => s,
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(
                openidconnect::SignatureVerificationError::NoMatchingKey,
            )) if self.refresh_jwks(provider).await? => {
                let metadata = self.metadata(provider).await?;
                verify(&metadata).map_err(UpstreamError::from_claims)?
            }
            Err(e) => return Err(UpstreamError::from_claims(e)),
        };
        // The signature is verified: the payload is trusted from here on.
        let mut claims = payload(&id_token.to_string())?;
        check_azp(&claims, &provider.client_id)?;
        let acr = claims.get("acr").and_then(Value::as_str).map(str::to_owned);
        let auth_time = claims.get("auth_time").and_then(Value::as_i64);

        if want_userinfo(&claims)
            && let Some(endpoint) = userinfo_endpoint
        {
            let call = self.userinfo(endpoint, &access_token);
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
        })
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

/// Verifies a provider's ID token, without I/O: the signature against `jwks` with one of
/// [`ALLOWED_ALGS`] (by [`signature::verify`], with ring), then `iss` equal to `issuer`, `aud`
/// naming the provider's `client_id`, `exp` after `now`, `iat` within [`MAX_IAT_SKEW`] ahead
/// and [`MAX_IAT_AGE`] behind `now`, and the pending login's `nonce` (openidconnect's
/// verifier). Returns the verified subject. [`UpstreamClient::finish`] calls it, and refetches
/// the JWKS once when the error is `NoMatchingKey`.
pub fn verify_id_token(
    id_token: &CoreIdToken,
    provider: &IdentityProvider,
    issuer: &IssuerUrl,
    jwks: &CoreJsonWebKeySet,
    nonce: &str,
    now: time::OffsetDateTime,
) -> Result<String, openidconnect::ClaimsVerificationError> {
    let jwks = serde_json::to_value(jwks).map_err(|e| {
        openidconnect::ClaimsVerificationError::SignatureVerification(
            openidconnect::SignatureVerificationError::InvalidKey(e.to_string()),
        )
    })?;
    signature::verify(&id_token.to_string(), &jwks)
        .map_err(openidconnect::ClaimsVerificationError::SignatureVerification)?;
    // The signature was verified just above; only the claims are left to openidconnect.
    let verifier = id_token_verifier(
        provider,
        issuer.clone(),
        CoreJsonWebKeySet::new(Vec::new()),
        now,
    )
    .insecure_disable_signature_check();
    id_token
        .claims(&verifier, &Nonce::new(nonce.to_owned()))
        .map(|c| c.subject().as_str().to_owned())
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

fn id_token_verifier(
    provider: &IdentityProvider,
    issuer: IssuerUrl,
    jwks: CoreJsonWebKeySet,
    now: time::OffsetDateTime,
) -> CoreIdTokenVerifier<'static> {
    let now_chrono = chrono_time(now);
    CoreIdTokenVerifier::new_public_client(ClientId::new(provider.client_id.clone()), issuer, jwks)
        .set_allowed_algs(ALLOWED_ALGS)
        .set_time_fn(move || now_chrono)
        .set_issue_time_verifier_fn(move |iat| {
            let skew = chrono::TimeDelta::from_std(MAX_IAT_SKEW).unwrap_or_default();
            let age = chrono::TimeDelta::from_std(MAX_IAT_AGE).unwrap_or_default();
            if iat > now_chrono + skew {
                Err(format!("issued in the future ({iat})"))
            } else if iat < now_chrono - age {
                Err(format!("issued too long ago ({iat})"))
            } else {
                Ok(())
            }
        })
}

fn chrono_time(now: time::OffsetDateTime) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(now.unix_timestamp(), now.nanosecond()).unwrap_or_default()
}

/// OpenID Connect Core 3.1.3.7 step 5: an `azp` present must be our client id.
pub(crate) fn check_azp(claims: &Map<String, Value>, client_id: &str) -> Result<(), UpstreamError> {
    match claims.get("azp") {
        None => Ok(()),
        Some(Value::String(azp)) if azp == client_id => Ok(()),
        Some(other) => Err(UpstreamError::InvalidIdToken(format!(
            "azp {other} is not this broker's client id"
        ))),
    }
}

/// The claims of a JWS whose signature was already verified.
pub(crate) fn payload(jwt: &str) -> Result<Map<String, Value>, UpstreamError> {
    let part = jwt
        .split('.')
        .nth(1)
        .ok_or_else(|| UpstreamError::InvalidIdToken("not a JWS".into()))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|e| UpstreamError::InvalidIdToken(format!("payload is not base64url: {e}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| UpstreamError::InvalidIdToken(format!("payload is not a JSON object: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azp_must_be_ours_when_present() {
        let mut claims = Map::new();
        assert!(check_azp(&claims, "broker").is_ok());
        claims.insert("azp".into(), Value::from("broker"));
        assert!(check_azp(&claims, "broker").is_ok());
        claims.insert("azp".into(), Value::from("someone-else"));
        assert!(check_azp(&claims, "broker").is_err());
    }

    #[test]
    fn never_none_never_hmac() {
        for alg in ALLOWED_ALGS {
            let name = serde_json::to_value(&alg).unwrap();
            let name = name.as_str().unwrap();
            assert!(!name.starts_with("HS") && name != "none", "{name}");
        }
    }
}
