//! A demo relying service: a government service's web front end that signs a person in through
//! the broker with plain OpenID Connect (authorization code + PKCE S256 + state + nonce),
//! verifies the broker's ID token, fetches userinfo and shows the result. The person signs out
//! through the broker (RP-Initiated Logout 1.0), and the broker's back-channel logout tokens end
//! the service's sessions (Back-Channel Logout 1.0).

mod backchannel;
mod callback;
mod error;
mod login;
mod logout;
mod pages;
mod security_events;
mod verify;

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use axum::Router;
use axum::routing::get;
use serde::Deserialize;

use crate::html::Lang;
use crate::util::{TtlMap, lock};
use error::RpError;

/// One service (an OIDC client of the broker).
#[derive(Clone)]
pub struct ServiceClient {
    pub client_id: String,
    pub client_secret: String,
    /// `client_secret_basic` or `client_secret_post`.
    pub auth_method: String,
    /// E.g. `http://127.0.0.1:8490/callback/{client_id}`.
    pub redirect_uri: String,
    pub name_en: String,
    pub name_fr: String,
}

impl fmt::Debug for ServiceClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceClient")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("auth_method", &self.auth_method)
            .field("redirect_uri", &self.redirect_uri)
            .field("name_en", &self.name_en)
            .finish_non_exhaustive()
    }
}

impl ServiceClient {
    fn name(&self, lang: Lang) -> &str {
        lang.pick(&self.name_en, &self.name_fr)
    }
}

#[derive(Debug, Clone)]
pub struct RelyingServiceConfig {
    /// The broker's issuer; its discovery is `{broker_issuer}/.well-known/openid-configuration`.
    pub broker_issuer: String,
    /// E.g. `http://127.0.0.1:8490`.
    pub public_url: String,
    pub clients: Vec<ServiceClient>,
}

/// The broker's metadata this service uses.
#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    #[serde(default)]
    userinfo_endpoint: Option<String>,
    jwks_uri: String,
    /// RP-Initiated Logout 1.0; `{issuer}/logout` when the broker states none.
    #[serde(default)]
    end_session_endpoint: Option<String>,
}

/// A sign-in in progress, keyed by its `state`.
#[derive(Clone)]
struct Pending {
    client_id: String,
    nonce: String,
    verifier: String,
    lang: Lang,
}

impl fmt::Debug for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pending")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Sign-ins in progress live this long.
const PENDING_TTL: Duration = Duration::from_secs(600);
/// The broker's discovery document is cached this long.
const DISCOVERY_TTL: Duration = Duration::from_secs(300);
/// The cookie binding the browser to the state of its sign-in.
const STATE_COOKIE: &str = "demo_rp_state";
/// The cookie naming the session that holds a finished sign-in's result.
const SESSION_COOKIE: &str = "demo_rp_session";

struct RelyingService {
    config: RelyingServiceConfig,
    http: reqwest::Client,
    discovery: Mutex<Option<(Instant, Discovery)>>,
    pending: TtlMap<Pending>,
    sessions: TtlMap<callback::SignedIn>,
    /// Sign-outs in progress at the broker, keyed by their `state`.
    logouts: TtlMap<logout::PendingLogout>,
    /// The verified back-channel logout tokens received, and their `jti`s against replay.
    received: backchannel::Received,
    secure_cookies: bool,
}

impl fmt::Debug for RelyingService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RelyingService")
            .field("broker_issuer", &self.config.broker_issuer)
            .finish_non_exhaustive()
    }
}

impl RelyingService {
    fn client(&self, client_id: &str) -> Option<&ServiceClient> {
        self.config
            .clients
            .iter()
            .find(|c| c.client_id == client_id)
    }

    /// The broker's discovery document, fetched on first use and cached.
    async fn discovery(&self) -> Result<Discovery, RpError> {
        if let Some((fetched, discovery)) = lock(&self.discovery).as_ref()
            && fetched.elapsed() < DISCOVERY_TTL
        {
            return Ok(discovery.clone());
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.config.broker_issuer
        );
        let discovery: Discovery = self
            .http
            .get(&url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| RpError::Broker(e.to_string()))?
            .json()
            .await
            .map_err(|e| RpError::Broker(e.to_string()))?;
        // OpenID Connect Discovery 4.3: the issuer must be the one the document was fetched for.
        if discovery.issuer != self.config.broker_issuer {
            return Err(RpError::Broker(format!(
                "the discovery document names the issuer {:?}",
                discovery.issuer
            )));
        }
        *lock(&self.discovery) = Some((Instant::now(), discovery.clone()));
        Ok(discovery)
    }
}

fn validate(config: &RelyingServiceConfig) -> anyhow::Result<()> {
    url::Url::parse(&config.broker_issuer)
        .with_context(|| format!("the broker issuer {:?} is not a URL", config.broker_issuer))?;
    url::Url::parse(&config.public_url)
        .with_context(|| format!("the public URL {:?} is not a URL", config.public_url))?;
    for client in &config.clients {
        url::Url::parse(&client.redirect_uri)
            .with_context(|| format!("the redirect URI {:?} is not a URL", client.redirect_uri))?;
        if !matches!(
            client.auth_method.as_str(),
            "client_secret_basic" | "client_secret_post"
        ) {
            bail!(
                "{}: auth_method must be client_secret_basic or client_secret_post",
                client.client_id
            );
        }
    }
    Ok(())
}

/// The service's routes, for in-process tests.
pub fn router(config: RelyingServiceConfig) -> anyhow::Result<Router> {
    router_trusting(config, Vec::new())
}

/// As [`router`], also trusting `roots` (e.g. the self-signed certificate of a broker served
/// over https on loopback) in addition to the built-in roots when calling the broker.
pub fn router_trusting(
    config: RelyingServiceConfig,
    roots: Vec<reqwest::Certificate>,
) -> anyhow::Result<Router> {
    validate(&config)?;
    let mut builder = crate::jose::http_client_builder()?
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .user_agent(concat!("demo-relying-service/", env!("CARGO_PKG_VERSION")));
    for root in roots {
        builder = builder.add_root_certificate(root);
    }
    let http = builder.build().context("cannot build the HTTP client")?;
    let service = Arc::new(RelyingService {
        secure_cookies: config.public_url.starts_with("https:"),
        config,
        http,
        discovery: Mutex::new(None),
        pending: TtlMap::new(PENDING_TTL, 10_000),
        sessions: TtlMap::new(PENDING_TTL, 10_000),
        logouts: TtlMap::new(PENDING_TTL, 10_000),
        received: backchannel::Received::new(10_000),
    });
    Ok(Router::new()
        .route("/", get(pages::index))
        .route("/login/{client_id}", get(login::login))
        .route("/callback/{client_id}", get(callback::callback))
        .route("/result", get(pages::result))
        .route("/logout/{client_id}", axum::routing::post(logout::logout))
        .route("/signed-out/{client_id}", get(logout::signed_out))
        .route(
            "/backchannel-logout/{client_id}",
            axum::routing::post(backchannel::receive),
        )
        .route(
            "/backchannel-logout/{client_id}/received",
            get(backchannel::received),
        )
        .route(
            "/security-events/{client_id}",
            axum::routing::post(security_events::receive),
        )
        .route("/style.css", get(crate::html::stylesheet))
        .route("/static/fonts/{file}", get(crate::html::font))
        .with_state(service))
}

/// Serves the relying service on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: RelyingServiceConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_trusting(listener, config, Vec::new(), shutdown).await
}

/// As [`serve`], with [`router_trusting`].
pub async fn serve_trusting(
    listener: tokio::net::TcpListener,
    config: RelyingServiceConfig,
    roots: Vec<reqwest::Certificate>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let public_url = config.public_url.clone();
    let app = router_trusting(config, roots)?;
    tracing::info!(%public_url, "demo relying service listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("the demo relying service stopped")
}
