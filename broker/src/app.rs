//! The broker's shared state and its router.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;
use trust_framework::Registry;

use crate::audit::Event;
use crate::clock::Clock;
use crate::keys::KeySet;
use crate::oidc::pairwise::PairwiseSubjects;
use crate::records::{Backend, Records};
use crate::secrets::SecretResolver;
use crate::store::{Store, TypedStore};
use crate::upstream::UpstreamClient;

/// Everything a request handler may need. Cheap to clone (an `Arc` inside).
#[derive(Debug, Clone)]
pub struct Broker(Arc<Inner>);

#[derive(Debug)]
pub struct Inner {
    pub issuer: String,
    /// The registry in force and its version in the records, read and swapped together.
    registry: RwLock<(Arc<Registry>, u64)>,
    pub keys: crate::keys::KeyRing,
    pub store: TypedStore,
    pub upstream: UpstreamClient,
    /// Relying parties' registered keys for `private_key_jwt`.
    pub client_keys: crate::oidc::client_auth::ClientKeyCache,
    pub secrets: SecretResolver,
    pub pairwise: PairwiseSubjects,
    /// The consent form's anti-CSRF tokens, keyed from the pairwise secret.
    pub forms: crate::login::form_tokens::FormTokens,
    /// Whether cookies get `Secure` (always, except on a plain-http development issuer).
    pub secure_cookies: bool,
    /// The system of record: the registry's versions, reports, consents, disclosures and the
    /// audit trail (`crate::records`).
    pub records: Records,
    /// Who signs the log's checkpoints, if anyone (`crate::tlog`).
    pub log: Option<crate::tlog::LogSigning>,
    pub admins: Vec<crate::admin::auth::Principal>,
    pub limits: crate::http::limits::Limits,
    /// The time every judgement is made at (`crate::clock`).
    pub clock: Arc<dyn Clock>,
    /// One permit per provider call in flight (`limits.max_concurrent_upstream`).
    pub upstream_slots: tokio::sync::Semaphore,
    /// Sessions' lifetimes and reuse rule (`crate::session`).
    pub sessions: crate::session::SessionPolicy,
    /// Who runs this broker, as every page says (`crate::http::operator`).
    pub operator: Arc<crate::http::operator::Operator>,
    /// Who may read their record, and for how long (`crate::record`).
    pub record: crate::record::RecordPolicy,
}

impl std::ops::Deref for Broker {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

#[derive(Debug)]
pub struct BrokerParts {
    pub issuer: String,
    pub registry: Registry,
    pub keys: KeySet,
    pub store: Arc<dyn Store>,
    pub secrets: SecretResolver,
    pub pairwise_secret: Vec<u8>,
    pub upstream_timeout: Duration,
    /// The records, with `registry` in force in them at `registry_version` (see
    /// `crate::admin::bootstrap`); version 0 for a registry not (yet) in the records.
    pub records: Records,
    pub registry_version: u64,
    /// Who signs the log's checkpoints; `None` keeps the tree unsigned.
    pub log: Option<crate::tlog::LogSigning>,
    pub admins: Vec<crate::admin::auth::Principal>,
    pub limits: crate::http::limits::Limits,
    /// The system clock in production; a fixed one in tests.
    pub clock: Arc<dyn Clock>,
    pub sessions: crate::session::SessionPolicy,
    pub operator: crate::http::operator::Operator,
    pub record: crate::record::RecordPolicy,
}

impl Broker {
    pub fn new(parts: BrokerParts) -> Result<Self, crate::upstream::UpstreamError> {
        let upstream = UpstreamClient::new(parts.upstream_timeout)?;
        Self::with_upstream(parts, upstream)
    }

    /// As [`Broker::new`], with an upstream client the caller built (for example one that
    /// trusts a CA bundle of a test deployment, [`UpstreamClient::with_ca_bundle`]). Its
    /// timeout is the one it was built with.
    pub fn with_upstream(
        parts: BrokerParts,
        upstream: UpstreamClient,
    ) -> Result<Self, crate::upstream::UpstreamError> {
        let issuer = parts.issuer.trim_end_matches('/').to_owned();
        Ok(Self(Arc::new(Inner {
            secure_cookies: issuer.starts_with("https://"),
            issuer,
            registry: RwLock::new((Arc::new(parts.registry), parts.registry_version)),
            keys: crate::keys::KeyRing::new(parts.keys),
            store: TypedStore(parts.store),
            client_keys: crate::oidc::client_auth::ClientKeyCache::new(upstream.http().clone()),
            upstream,
            secrets: parts.secrets,
            pairwise: PairwiseSubjects::new(&parts.pairwise_secret),
            forms: crate::login::form_tokens::FormTokens::new(&parts.pairwise_secret),
            records: parts.records,
            log: parts.log,
            admins: parts.admins,
            upstream_slots: tokio::sync::Semaphore::new(
                parts.limits.max_concurrent_upstream.max(1),
            ),
            limits: parts.limits,
            clock: parts.clock,
            sessions: parts.sessions,
            operator: Arc::new(parts.operator),
            record: parts.record,
        })))
    }

    /// The registry snapshot in force now. Each request takes one snapshot and decides on it.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry_snapshot().0
    }

    /// The registry in force and its version in the records, as one: a release judged by the
    /// one is committed on the condition that the other is still the newest
    /// (`Records::commit_release`).
    pub fn registry_snapshot(&self) -> (Arc<Registry>, u64) {
        match self.0.registry.read() {
            Ok(r) => r.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The registry for a request that decides: the newest. On PostgreSQL, shared by replicas,
    /// a change made on another replica is known from its notice (`records::notices`), or,
    /// while this process does not listen, by asking (one small read), and loaded first.
    /// SQLite belongs to this process alone, whose changes are in force as soon as they are
    /// saved. If the check fails, the snapshot in force is used: such a request fails closed
    /// anyway at its release, whose commit checks the version again.
    pub async fn fresh_registry(&self) -> Arc<Registry> {
        if self.records.backend() == Backend::Postgres {
            let newest = match self.records.registry_notice() {
                // PostgreSQL tells this process of every change (`records::notices`).
                Some(told) => Ok(told),
                None => self.records.registry_version().await,
            };
            match newest {
                Ok(v) if v > self.registry_version() => self.reload_registry().await,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "registry version check failed"),
            }
        }
        self.registry()
    }

    /// Loads the newest registry of the records and puts it in force, if it is newer than the
    /// one in force (another replica changed it).
    pub async fn reload_registry(&self) {
        match self.records.registry().await {
            Ok(Some((version, file))) => match Registry::from_file(file) {
                Ok(registry) => {
                    if self.install_registry(registry, version) {
                        self.audit(Event::RegistryLoaded { version });
                    }
                }
                Err(e) => tracing::error!(version, error = %e, "stored registry refused"),
            },
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "registry load failed"),
        }
    }

    /// Writes an audit event: its log line now, and its record with the next write to the
    /// records (`crate::records`).
    pub(crate) fn audit(&self, event: Event<'_>) {
        let row = event.record(self.now());
        self.records.queue_event(row);
    }

    /// Swaps in a new registry at the same version; requests in flight keep the snapshot they
    /// started with and re-check against the new one at their next step.
    pub fn replace_registry(&self, registry: Registry) {
        let mut guard = match self.0.registry.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        guard.0 = Arc::new(registry);
    }

    /// Swaps in a stored registry only if its version is newer than the one in force, so a
    /// slow reader can never put an older snapshot back over a newer one.
    pub fn install_registry(&self, registry: Registry, version: u64) -> bool {
        let mut guard = match self.0.registry.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if version <= guard.1 {
            return false;
        }
        *guard = (Arc::new(registry), version);
        true
    }

    pub fn registry_version(&self) -> u64 {
        self.registry_snapshot().1
    }

    /// The time now, by the broker's clock.
    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }

    pub fn callback_url(&self) -> String {
        format!("{}/callback", self.issuer)
    }
}

pub fn router(broker: Broker) -> Router {
    let header = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    let routes = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(crate::oidc::discovery::configuration),
        )
        .route("/jwks.json", get(crate::oidc::discovery::jwks))
        .route(
            "/authorize",
            get(crate::oidc::authorize::get).post(crate::oidc::authorize::post),
        )
        .route(
            "/authorize/select",
            get(crate::login::endpoints::picker).post(crate::login::endpoints::choose),
        )
        .route("/callback", get(crate::login::endpoints::callback))
        .route(
            "/consent",
            get(crate::login::endpoints::consent_page).post(crate::login::endpoints::decide),
        )
        .route(
            "/logout",
            get(crate::session::end_session::get).post(crate::session::end_session::post),
        )
        .route(
            "/logout/confirm",
            post(crate::session::end_session::confirm),
        )
        .route(
            "/logout/callback",
            get(crate::session::end_session::callback),
        )
        .route("/logout/done", get(crate::session::end_session::done))
        .route(
            "/backchannel-logout",
            post(crate::session::provider_logout::receive),
        )
        .route("/my-record", get(crate::record::endpoints::page_en))
        .route("/mon-dossier", get(crate::record::endpoints::page_fr))
        .route(
            "/my-record/sign-in",
            post(crate::record::endpoints::sign_in),
        )
        .route(
            "/my-record/sign-out",
            post(crate::record::endpoints::sign_out),
        )
        .route(
            "/my-record/withdraw",
            get(crate::record::endpoints::withdraw_page).post(crate::record::endpoints::withdraw),
        )
        .route("/my-record/report", post(crate::record::endpoints::report))
        .route("/my-record/proofs", get(crate::record::endpoints::proofs))
        .route(
            "/my-record/proof/{reference}",
            get(crate::record::endpoints::proof),
        )
        .route("/my-record/{export}", get(crate::record::endpoints::export))
        .route("/par", post(crate::oidc::par::push))
        .route("/token", post(crate::oidc::token::token))
        .route("/register", post(crate::oidc::register::register))
        .route(
            "/userinfo",
            get(crate::oidc::userinfo::userinfo).post(crate::oidc::userinfo::userinfo),
        )
        .route("/log/checkpoint", get(crate::tlog::public::checkpoint))
        .route("/log/tile/{*path}", get(crate::tlog::public::tile))
        .route("/log/witnessed", get(crate::tlog::public::witnessed))
        .route("/log/key", get(crate::tlog::public::key))
        .route("/log/cosignature", post(crate::tlog::public::cosign))
        .route("/healthz", get(crate::http::health::healthz))
        .route("/readyz", get(crate::http::health::readyz))
        .route("/metrics", get(crate::metrics::serve))
        .route(
            "/static/broker.css",
            get(crate::http::design_system::stylesheet),
        )
        .route(
            "/static/fonts/{file}",
            get(crate::http::design_system::font),
        )
        .route(
            crate::http::operator::LOGO_PATH,
            get(crate::http::health::operator_logo),
        )
        .merge(crate::admin::router(broker.clone()))
        // The one layer on every route: it hands the route template to the metrics outside.
        .route_layer(axum::middleware::from_fn(crate::metrics::route_of))
        .with_state(broker.clone());
    // The layers wrap the router once, not each of its routes: a layer added with
    // `Router::layer` is boxed anew around every route and cloned on every request.
    let stack = tower::ServiceBuilder::new()
        // Outermost, so that every answer is counted, the other layers' refusals included.
        .layer(axum::middleware::from_fn(crate::metrics::track))
        // Every store call of a request, the rate counter's included, within one store timeout,
        // and every records call within one records timeout.
        .layer(axum::middleware::from_fn(
            |request: axum::extract::Request, next: axum::middleware::Next| {
                crate::budget::scope(next.run(request))
            },
        ))
        // Every page names who runs the broker, refusals' pages included.
        .layer(axum::middleware::from_fn_with_state(
            broker.operator.clone(),
            |axum::extract::State(operator): axum::extract::State<
                Arc<crate::http::operator::Operator>,
            >,
             request: axum::extract::Request,
             next: axum::middleware::Next| {
                crate::http::operator::scope(operator, next.run(request))
            },
        ))
        // Every answer may carry a code, a token or personal data unless it says otherwise
        // (the JWKS, discovery and the stylesheet set their own caching).
        .layer(header(header::CACHE_CONTROL, "no-store"))
        .layer(header(header::REFERRER_POLICY, "no-referrer"))
        .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header(header::X_FRAME_OPTIONS, "DENY"))
        // The security headers wrap every refusal below, so they are on every answer.
        .layer(header(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; font-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        // Before anything reads the head (431 in the caller's form).
        .layer(axum::middleware::from_fn(crate::http::request_head::bounded))
        // Outside the body reader, so that a flood is refused before its bodies are read.
        .layer(axum::middleware::from_fn_with_state(
            broker.clone(),
            crate::http::limits::per_address,
        ))
        // Innermost: handlers get bodies already read whole (413, 408, 400 otherwise).
        .layer(axum::middleware::from_fn_with_state(
            broker,
            crate::http::request_body::read_whole,
        ))
        .service(routes);
    Router::new().fallback_service(stack)
}

/// Serves plain HTTP until `shutdown` completes, sweeping for abandoned logins meanwhile
/// (`crate::login::abandoned`). Tests bind port 0 and pass the listener in.
/// The transport limits of [`crate::http::server`] apply (a bare 431 on heads over its backstop, the
/// header timeout).
pub async fn run(
    listener: tokio::net::TcpListener,
    broker: Broker,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve(listener, broker, None, shutdown).await
}

/// As [`run`], terminating TLS on every connection (TLS 1.2 and 1.3 only) and adding
/// `Strict-Transport-Security` to every response.
pub async fn run_tls(
    listener: tokio::net::TcpListener,
    broker: Broker,
    tls: crate::http::server::Tls,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve(listener, broker, Some(tls), shutdown).await
}

/// [`run`] and [`run_tls`]: the sweep for abandoned logins, the audit flusher, the registry
/// listener, the checkpointer and the delivery queues (logout tokens, consent events) run
/// while the broker serves, and stop with it.
async fn serve(
    listener: tokio::net::TcpListener,
    broker: Broker,
    tls: Option<crate::http::server::Tls>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let max = broker.limits.max_connections;
    let _sweeper = AbortOnDrop(tokio::spawn(crate::login::abandoned::watch(broker.clone())));
    let _flusher = AbortOnDrop(tokio::spawn(flush_audit_events(broker.records.clone())));
    let _listener = AbortOnDrop(tokio::spawn(broker.records.clone().listen_for_registry()));
    let _checkpointer = AbortOnDrop(tokio::spawn(crate::tlog::checkpointer::run(broker.clone())));
    let _logouts = AbortOnDrop(tokio::spawn(crate::delivery::run(broker.clone())));
    let served =
        crate::http::server::serve(listener, router(broker.clone()), tls, max, shutdown).await;
    // The audit events of the last requests, before the process ends.
    if let Err(e) = broker.records.flush_events().await {
        tracing::error!(error = %e, "the last audit events could not be written to the records");
    }
    served
}

/// Writes the audit events no release has taken, every `records::FLUSH_EVERY`. A failure is
/// logged by the records and tried again with the next flush.
async fn flush_audit_events(records: Records) {
    let mut every = tokio::time::interval(crate::records::FLUSH_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let _ = records.flush_events().await;
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `run` until Ctrl-C or SIGTERM, for the CLI.
pub async fn run_anyhow(listener: tokio::net::TcpListener, broker: Broker) -> anyhow::Result<()> {
    run(listener, broker, crate::cli::serve::shutdown_signal()).await?;
    Ok(())
}
