//! A demo identity provider: a small, real OpenID Provider (authorization code + PKCE S256,
//! ES256 ID tokens) with fictional test persons.
//!
//! It is a *test* provider: a `login_hint` naming a test person signs that person in at once,
//! as test providers in conformance suites do; without one it shows a bilingual login page
//! listing the persons. A [`Fault`] makes it misbehave in exactly one named way, to test the
//! broker's strict validation of upstream providers.
//!
//! Each sign-in is a session whose `sid` its ID tokens carry: the client ends it at `/logout`
//! (RP-Initiated Logout 1.0), or the person ends it at `/sessions`, and the client is told by a
//! back-channel logout token (Back-Channel Logout 1.0).

mod authorize;
mod claims;
mod discovery;
mod keys;
mod logout;
mod persons;
mod session;
mod sessions_page;
mod token;
mod userinfo;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use axum::Router;
use axum::routing::{get, post};
use broker::clock::{Clock, SystemClock};
use serde_json::{Map, Value};

use crate::html::Lang;
use crate::util::TtlMap;

pub use persons::test_persons;

/// A fictional person the provider can sign in.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    /// The subject (`sub`) and the `login_hint` that selects this person.
    pub id: String,
    /// Canonical OIDC claim names: given_name, family_name, middle_name, birthdate, gender,
    /// place_of_birth, address (object), email, phone_number, locale.
    pub claims: Map<String, Value>,
}

/// A client registered at the provider (the broker, or a test's client).
#[derive(Clone)]
pub struct ClientConfig {
    pub client_id: String,
    pub client_secret: String,
    /// Exact redirect URIs (compared byte for byte).
    pub redirect_uris: Vec<String>,
}

impl ClientConfig {
    /// Where this client may be sent after signing out here (RP-Initiated Logout 1.0), each
    /// compared byte for byte. A demo provider's clients are the broker and, in tests, the
    /// demo relying service; each keeps its logout endpoints beside its callback by a fixed
    /// layout, so they are derived from the redirect URIs rather than configured (this struct
    /// is built field by field across the workspace): a redirect URI `…/callback` (the
    /// broker's) allows `…/logout/callback`, and `…/callback/{id}` (the demo relying
    /// service's) allows `…/signed-out/{id}`.
    pub fn post_logout_redirect_uris(&self) -> Vec<String> {
        self.redirect_uris
            .iter()
            .filter_map(|uri| beside_callback(uri, &["logout", "callback"], "signed-out"))
            .collect()
    }

    /// Where this client hears that a session ended here (Back-Channel Logout 1.0), by the
    /// same layout: `…/callback` gives `…/backchannel-logout` (the broker's), `…/callback/{id}`
    /// gives `…/backchannel-logout/{id}` (the demo relying service's).
    pub fn backchannel_logout_uri(&self) -> Option<String> {
        self.redirect_uris
            .iter()
            .find_map(|uri| beside_callback(uri, &["backchannel-logout"], "backchannel-logout"))
    }
}

/// `uri` with its final `callback` path segment replaced by `last`, or, when `callback` is the
/// segment before the final one, that segment replaced by `middle`; none for any other path.
fn beside_callback(uri: &str, last: &[&str], middle: &str) -> Option<String> {
    let mut url = url::Url::parse(uri).ok()?;
    let mut segments: Vec<String> = url.path_segments()?.map(str::to_owned).collect();
    if segments.last().is_some_and(|s| s == "callback") {
        segments.pop();
        segments.extend(last.iter().map(|s| (*s).to_owned()));
    } else {
        let before_last = segments.len().checked_sub(2);
        let segment = before_last.and_then(|i| segments.get_mut(i))?;
        if segment != "callback" {
            return None;
        }
        *segment = middle.to_owned();
    }
    url.set_path(&format!("/{}", segments.join("/")));
    url.set_query(None);
    url.set_fragment(None);
    Some(url.to_string())
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("redirect_uris", &self.redirect_uris)
            .finish()
    }
}

/// One demo provider.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// E.g. `http://127.0.0.1:8411`, without a trailing slash; discovery states it byte for byte.
    pub issuer: String,
    pub name_en: String,
    pub name_fr: String,
    pub clients: Vec<ClientConfig>,
    /// The provider's own acr values, weakest first.
    pub acr_values: Vec<String>,
    /// Canonical claim name -> this provider's claim name (e.g. `given_name` -> `prenom`);
    /// unmapped claims keep the canonical name.
    pub claim_names: BTreeMap<String, String>,
    pub persons: Vec<Person>,
    /// Misbehave in one named way, for tests of the broker's validation.
    pub fault: Option<Fault>,
    /// The time its tokens are issued at: the machine's, or a test's fixed clock shared with
    /// the broker it serves.
    pub clock: Arc<dyn Clock>,
}

/// The machine's clock, for a provider that runs on real time.
pub fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

impl ProviderConfig {
    /// The demo provider that plays a registry provider at its registry issuer, for the broker
    /// at `broker_issuer`: the registry's client id with `client_secret`, the broker's
    /// `/callback` as the one redirect URI. What `demo` and the load tool serve.
    pub fn for_broker(
        provider: &trust_framework::IdentityProvider,
        client_secret: String,
        broker_issuer: &str,
    ) -> Self {
        Self::for_registry_provider(
            provider,
            provider.issuer.clone(),
            ClientConfig {
                client_id: provider.client_id.clone(),
                client_secret,
                redirect_uris: vec![format!("{}/callback", broker_issuer.trim_end_matches('/'))],
            },
            None,
        )
    }

    /// The demo provider that plays a registry provider: its issuer, the broker as its one
    /// client, its own acr values (weakest first) and claim names, and the test persons of its
    /// jurisdiction. The issuer is given because tests and tools run it on a port of their own.
    pub fn for_registry_provider(
        provider: &trust_framework::IdentityProvider,
        issuer: String,
        client: ClientConfig,
        fault: Option<Fault>,
    ) -> Self {
        let mut acr: Vec<_> = provider.acr_map.iter().collect();
        acr.sort_by_key(|(_, level)| **level);
        Self {
            issuer,
            name_en: provider.name.en.clone(),
            name_fr: provider.name.fr.clone(),
            clients: vec![client],
            acr_values: acr.into_iter().map(|(a, _)| a.clone()).collect(),
            claim_names: provider
                .claim_map
                .iter()
                .map(|(upstream, a)| (a.claim().to_owned(), upstream.clone()))
                .collect(),
            persons: test_persons(provider.jurisdiction.code()),
            fault,
            clock: system_clock(),
        }
    }
}

/// One way to misbehave. Each alters exactly the named aspect of an otherwise valid answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The ID token's ES256 signature has one byte flipped.
    BadSignature,
    /// The ID token's header says `"alg": "none"` and its signature is empty.
    AlgNone,
    /// The ID token is HS256-signed with the client's secret instead of the published key.
    HmacWithClientSecret,
    /// The ID token's `iss` is not this provider.
    WrongIssuer,
    /// The ID token's `aud` is another client.
    WrongAudience,
    /// The ID token's `nonce` is not the request's.
    WrongNonce,
    /// The ID token expired an hour ago (`exp` and `iat` in the past).
    Expired,
    /// The ID token is issued an hour from now (`iat` and `exp` in the future).
    IssuedInFuture,
    /// The authorization endpoint redirects back with `error=access_denied`.
    ErrorResponse,
    /// The token endpoint answers 400 `invalid_grant`.
    TokenEndpointError,
    /// The token endpoint waits this long before answering.
    SlowToken(Duration),
    /// The ID token's `acr` is this value, whatever was asked.
    AcrOverride(String),
    /// The ID token's `auth_time` is an hour before the sign-in, whatever `prompt=login` or
    /// `max_age` asked: a provider that kept an old session instead of signing the person in
    /// again.
    StaleAuthTime,
    /// The ID token has no `auth_time`.
    NoAuthTime,
    /// The token endpoint streams a 4 MiB answer, without a length: a provider that does not
    /// stop talking.
    OversizedTokenResponse,
    /// The ID token is signed with a second key whose `kid` is not in the JWKS.
    UnknownKid,
    /// Not a fault: the provider has rotated its key. Its first JWKS answer holds the old key
    /// only, later ones the old and the new, and ID tokens are signed with the new one. A
    /// client that cached the first JWKS must fetch it again to accept them.
    KeyRotatedAfterFirstJwks,
    /// Discovery lists `none` among the ID token signing algorithms (tokens stay ES256).
    AlgNoneAdvertised,
    /// The JWKS also publishes a 1024-bit RSA key (tokens stay ES256).
    WeakRsaKey,
    /// The JWKS publishes the signing key's private part (`d`).
    PrivateKeyInJwks,
    /// The JWKS publishes a second key under the signing key's `kid`.
    DuplicateKid,
    /// The provider states its issuer with a trailing slash (discovery, ID tokens, `iss` in
    /// authorization responses): not the URL it is registered and reached at.
    DiscoveryIssuerMismatch,
    /// An authorization request without a PKCE challenge is accepted (its code is then
    /// redeemed without a verifier).
    PkceNotEnforced,
    /// The token endpoint does not compare the code verifier with the challenge.
    CodeVerifierIgnored,
    /// A code can be redeemed again until it expires.
    CodeReplayAllowed,
    /// A redirect URI is accepted when it starts with a registered one.
    RedirectUriPrefixMatch,
    /// The successful token response says `Content-Type: text/plain` (its body stays JSON).
    TokenResponseNotJson,
    /// The successful token response carries no `Cache-Control: no-store`.
    TokenResponseCacheable,
    /// The token endpoint refuses with HTTP 400 and a plain-text body, not an OAuth error.
    TokenErrorNotOAuth,
    /// The ID token has no `sub` (userinfo still has it).
    NoSubject,
    /// Each sign-in gives the person another `sub` (in the ID token and userinfo alike).
    UnstableSubject,
    /// The ID token was issued 20 minutes ago and expires in 40 (`iat` old, `exp` ahead).
    IssuedLongAgo,
    /// The ID token's `at_hash` is the hash of another access token.
    WrongAtHash,
    /// Userinfo answers with another person's `sub`.
    UserinfoOtherSubject,
    /// A successful authorization response has no `iss` (error responses keep it).
    NoIssInResponse,
    /// An error authorization response has no `iss` (successful ones keep it).
    NoIssOnError,
    /// A code whose request had a PKCE challenge is redeemed without a verifier (a wrong
    /// verifier is still refused).
    CodeVerifierOptional,
    /// The token endpoint does not check the client's secret.
    ClientSecretIgnored,
    /// The token endpoint does not compare the redemption's redirect URI with the request's.
    RedeemRedirectUriIgnored,
    /// The ID token's `aud` names another client besides this one (`azp` is this one).
    ExtraAudience,
    /// The ID token has no `acr`, whatever was asked.
    NoAcr,
    /// Discovery states its `end_session_endpoint` on the issuer's host with `http://` (a
    /// proxy that rewrote some URLs to https, not all); the other endpoints keep the issuer's
    /// scheme, and nothing answers at the http one. Breaks a rule only when the issuer is
    /// https.
    EndpointOverHttp,
    /// A request from an unknown client, or naming none, is refused back to the redirect URI
    /// it names (`error=unauthorized_client`) instead of on a page: an open redirector.
    UnknownClientRedirected,
}

/// Pending authorization requests (login page shown) live this long.
const PENDING_TTL: Duration = Duration::from_secs(600);
/// Authorization codes live this long and are redeemable once.
const CODE_TTL: Duration = Duration::from_secs(60);
/// Access tokens (for userinfo) and ID tokens live this long.
const TOKEN_TTL_SECS: i64 = 300;
/// Logout tokens sent to clients are valid this long (Back-Channel Logout 1.0 2.4: short).
const LOGOUT_TOKEN_TTL_SECS: i64 = 120;
/// Bounds each in-memory map: a demo must not grow without limit.
const MAX_ENTRIES: usize = 10_000;

/// A validated authorization request.
#[derive(Debug, Clone)]
struct AuthRequest {
    client_id: String,
    redirect_uri: String,
    state: String,
    nonce: String,
    code_challenge: String,
    scopes: Vec<String>,
    /// The `claims` request parameter, parsed.
    claims: Option<Value>,
    /// The acr this sign-in will carry.
    acr: Option<String>,
    login_hint: Option<String>,
}

/// What a code or an access token stands for.
#[derive(Debug, Clone)]
struct Grant {
    request: AuthRequest,
    person_id: String,
    auth_time: i64,
    /// The provider session this sign-in started ([`session::Sessions`]), stated as `sid`.
    sid: String,
}

struct Provider {
    config: ProviderConfig,
    keys: keys::Keys,
    pending: TtlMap<AuthRequest>,
    codes: TtlMap<Grant>,
    access_tokens: TtlMap<Grant>,
    sessions: session::Sessions,
    /// Sends back-channel logout tokens to clients: no redirects, a short timeout.
    http: reqwest::Client,
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider")
            .field("issuer", &self.config.issuer)
            .finish_non_exhaustive()
    }
}

impl Provider {
    fn client(&self, client_id: &str) -> Option<&ClientConfig> {
        self.config
            .clients
            .iter()
            .find(|c| c.client_id == client_id)
    }

    fn person(&self, id: &str) -> Option<&Person> {
        self.config.persons.iter().find(|p| p.id == id)
    }

    fn name(&self, lang: Lang) -> &str {
        lang.pick(&self.config.name_en, &self.config.name_fr)
    }

    /// This provider's name for a canonical claim.
    fn claim_name<'a>(&'a self, canonical: &'a str) -> &'a str {
        self.config
            .claim_names
            .get(canonical)
            .map_or(canonical, String::as_str)
    }

    /// The issuer this provider states (differs from the configured one only under
    /// [`Fault::DiscoveryIssuerMismatch`]).
    fn stated_issuer(&self) -> String {
        match self.config.fault {
            Some(Fault::DiscoveryIssuerMismatch) => format!("{}/", self.config.issuer),
            _ => self.config.issuer.clone(),
        }
    }

    fn fault(&self, fault: &Fault) -> bool {
        self.config.fault.as_ref() == Some(fault)
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.config.issuer)
    }
}

fn validate(config: &ProviderConfig) -> anyhow::Result<()> {
    let issuer = url::Url::parse(&config.issuer)
        .with_context(|| format!("the issuer {:?} is not a URL", config.issuer))?;
    if !matches!(issuer.scheme(), "http" | "https")
        || config.issuer.ends_with('/')
        || issuer.query().is_some()
        || issuer.fragment().is_some()
    {
        bail!(
            "the issuer {:?} must be an http(s) URL without a trailing slash, query or fragment",
            config.issuer
        );
    }
    let mut ids = HashSet::new();
    for client in &config.clients {
        if client.client_id.is_empty() || !ids.insert(client.client_id.as_str()) {
            bail!("client ids must be non-empty and unique");
        }
        for uri in &client.redirect_uris {
            url::Url::parse(uri)
                .with_context(|| format!("the redirect URI {uri:?} is not a URL"))?;
        }
    }
    let mut ids = HashSet::new();
    for person in &config.persons {
        if person.id.is_empty() || !ids.insert(person.id.as_str()) {
            bail!("person ids must be non-empty and unique");
        }
    }
    Ok(())
}

/// The provider's routes, for in-process tests. Generates a fresh ES256 signing key.
pub fn router(config: ProviderConfig) -> anyhow::Result<Router> {
    validate(&config)?;
    let provider = Arc::new(Provider {
        keys: keys::Keys::generate()?,
        config,
        pending: TtlMap::new(PENDING_TTL, MAX_ENTRIES),
        codes: TtlMap::new(CODE_TTL, MAX_ENTRIES),
        access_tokens: TtlMap::new(Duration::from_secs(300), MAX_ENTRIES),
        sessions: session::Sessions::new(MAX_ENTRIES),
        http: crate::jose::http_client_builder()?
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .user_agent(concat!("demo-provider/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot build the HTTP client")?,
    });
    Ok(Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::configuration),
        )
        .route("/jwks", get(discovery::jwks))
        .route("/authorize", get(authorize::authorize))
        .route("/login", get(authorize::login_page).post(authorize::login))
        .route("/token", post(token::token))
        .route("/logout", get(logout::logout_get).post(logout::logout_post))
        .route("/sessions", get(sessions_page::list))
        .route("/sessions/sign-out", post(sessions_page::sign_out))
        .route(
            "/userinfo",
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route("/style.css", get(crate::html::stylesheet))
        .route("/static/fonts/{file}", get(crate::html::font))
        .with_state(provider))
}

/// Serves the provider on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: ProviderConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let issuer = config.issuer.clone();
    let app = router(config)?;
    tracing::info!(%issuer, "demo provider listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .with_context(|| format!("demo provider {issuer} stopped"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(redirect_uris: &[&str]) -> ClientConfig {
        ClientConfig {
            client_id: "c".into(),
            client_secret: "s".into(),
            redirect_uris: redirect_uris.iter().map(|u| (*u).to_owned()).collect(),
        }
    }

    #[test]
    fn logout_uris_sit_beside_the_callback() {
        let broker = client(&["http://127.0.0.1:8400/callback"]);
        assert_eq!(
            broker.post_logout_redirect_uris(),
            ["http://127.0.0.1:8400/logout/callback"]
        );
        assert_eq!(
            broker.backchannel_logout_uri().as_deref(),
            Some("http://127.0.0.1:8400/backchannel-logout")
        );
        let service = client(&["http://127.0.0.1:8490/callback/cra-my-account?x=1"]);
        assert_eq!(
            service.post_logout_redirect_uris(),
            ["http://127.0.0.1:8490/signed-out/cra-my-account"]
        );
        assert_eq!(
            service.backchannel_logout_uri().as_deref(),
            Some("http://127.0.0.1:8490/backchannel-logout/cra-my-account")
        );
        let other = client(&["https://client.example/cb", "not a url"]);
        assert!(other.post_logout_redirect_uris().is_empty());
        assert_eq!(other.backchannel_logout_uri(), None);
    }
}
