//! Prometheus metrics, served at `GET /metrics` in the OpenMetrics text format.
//!
//! The registry is process-wide (a static), so that any part of the broker can count without a
//! handle threaded through `Broker`, and so that one scrape sees every replica-local count.
//!
//! Every label value comes from a closed set: route templates (axum's [`MatchedPath`], never
//! the raw path), fixed names of methods, status classes, steps and outcomes, and provider ids
//! taken from the registry (an id the registry does not know is counted as `unknown`). No
//! label ever holds a subject, a client-supplied string, a code, a token or any personal data,
//! so the series stay bounded and the endpoint leaks nothing about the people who sign in.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};
use trust_framework::IdentityProvider;

/// The content type of the OpenMetrics text exposition, as Prometheus negotiates it.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Latency buckets from 1 ms (a cached answer) to 10 s (the default upstream timeout): a
/// 1-2.5-5 progression, so each decade gets three buckets.
const LATENCY_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The label a provider id gets when the registry does not (or no longer) know it.
const UNKNOWN: &str = "unknown";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: &'static str,
    route: String,
    status: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LoginLabels {
    provider: String,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLabels {
    provider: String,
    step: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpLabels {
    op: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScopeLabels {
    scope: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabels {
    stage: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CauseLabels {
    cause: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

#[derive(Debug)]
struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Histograms<RouteLabels>,
    logins: Family<LoginLabels, Counter>,
    upstream_duration: Histograms<UpstreamLabels>,
    upstream_errors: Family<UpstreamLabels, Counter>,
    store_errors: Family<OpLabels, Counter>,
    records_errors: Counter,
    audit_events_dropped: Counter,
    rate_limited: Family<ScopeLabels, Counter>,
    policy_refusals: Family<ReasonLabels, Counter>,
    abandoned: Family<StageLabels, Counter>,
    open_connections: Gauge,
    sessions_started: Family<OutcomeLabels, Counter>,
    sessions_reused: Counter,
    sessions_not_reused: Family<ReasonLabels, Counter>,
    sessions_ended: Family<CauseLabels, Counter>,
    logout_tokens: Family<OutcomeLabels, Counter>,
    consent_events: Family<OutcomeLabels, Counter>,
    tokens_revoked: Counter,
    record_sign_ins: Family<OutcomeLabels, Counter>,
    consents_withdrawn: Counter,
    disclosure_reports: Counter,
}

impl Metrics {
    fn new() -> Self {
        let m = Self {
            registry: Registry::default(),
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(latency_histogram),
            logins: Family::default(),
            upstream_duration: Family::new_with_constructor(latency_histogram),
            upstream_errors: Family::default(),
            store_errors: Family::default(),
            records_errors: Counter::default(),
            audit_events_dropped: Counter::default(),
            rate_limited: Family::default(),
            policy_refusals: Family::default(),
            abandoned: Family::default(),
            open_connections: Gauge::default(),
            sessions_started: Family::default(),
            sessions_reused: Counter::default(),
            sessions_not_reused: Family::default(),
            sessions_ended: Family::default(),
            logout_tokens: Family::default(),
            consent_events: Family::default(),
            tokens_revoked: Counter::default(),
            record_sign_ins: Family::default(),
            consents_withdrawn: Counter::default(),
            disclosure_reports: Counter::default(),
        };
        for outcome in LogoutToken::ALL {
            drop(m.logout_tokens.get_or_create(&OutcomeLabels {
                outcome: outcome.as_str(),
            }));
        }
        for outcome in ConsentEvent::ALL {
            drop(m.consent_events.get_or_create(&OutcomeLabels {
                outcome: outcome.as_str(),
            }));
        }
        // Series that alerts watch exist from the start at zero, so that `rate()` and
        // `increase()` see their first event instead of a series appearing out of nowhere.
        for op in StoreOp::ALL {
            drop(m.store_errors.get_or_create(&OpLabels { op: op.as_str() }));
        }
        for scope in RateLimitScope::ALL {
            drop(m.rate_limited.get_or_create(&ScopeLabels {
                scope: scope.as_str(),
            }));
        }
        for stage in crate::login::abandoned::Stage::ALL {
            drop(m.abandoned.get_or_create(&StageLabels {
                stage: stage.as_str(),
            }));
        }
        let mut m = m;
        let r = &mut m.registry;
        // Counters are registered without `_total`: the encoder appends it.
        r.register(
            "broker_http_requests",
            "HTTP requests answered, by method, route template and status class",
            m.http_requests.clone(),
        );
        r.register_with_unit(
            "broker_http_request_duration",
            "Time to answer an HTTP request (until the response head), by route template",
            Unit::Seconds,
            m.http_duration.clone(),
        );
        r.register(
            "broker_logins",
            "Logins ended at a provider, by provider and outcome \
             (success, refused, upstream_error, denied, error)",
            m.logins.clone(),
        );
        r.register_with_unit(
            "broker_upstream_request_duration",
            "Time of calls to identity providers, by provider and step \
             (discovery, token, userinfo, jwks)",
            Unit::Seconds,
            m.upstream_duration.clone(),
        );
        r.register(
            "broker_upstream_errors",
            "Calls to identity providers that failed, by provider and step",
            m.upstream_errors.clone(),
        );
        r.register(
            "broker_store_errors",
            "State store operations that failed (unavailable or undecodable), by operation",
            m.store_errors.clone(),
        );
        r.register(
            "broker_records_errors",
            "Calls to the records (PostgreSQL or SQLite) that failed or timed out",
            m.records_errors.clone(),
        );
        r.register(
            "broker_audit_events_dropped",
            "Audit events dropped because the records accepted no write for too long",
            m.audit_events_dropped.clone(),
        );
        r.register(
            "broker_rate_limited",
            "Requests refused by the rate limiter, by scope (client or address)",
            m.rate_limited.clone(),
        );
        r.register(
            "broker_policy_refusals",
            "Authorization requests the trust framework refused before any provider was \
             chosen (no agreement, level not attainable, ...), by reason",
            m.policy_refusals.clone(),
        );
        r.register(
            "broker_logins_abandoned",
            "Logins whose person or service never took the next step, by the step they \
             stopped before (choosing_provider, at_provider, consent, code_redemption)",
            m.abandoned.clone(),
        );
        r.register(
            "broker_http_connections_open",
            "Client connections open now; at [limits] max_connections, new ones wait to be \
             accepted",
            m.open_connections.clone(),
        );
        r.register(
            "broker_sessions_started",
            "Broker sessions started by a sign-in at a provider (new), or renewed by a new \
             sign-in of the same person in the same browser (renewed)",
            m.sessions_started.clone(),
        );
        r.register(
            "broker_sessions_reused",
            "Logins served from a session, without the provider",
            m.sessions_reused.clone(),
        );
        r.register(
            "broker_sessions_not_reused",
            "Logins whose browser had a session that could not stand in for them, by reason",
            m.sessions_not_reused.clone(),
        );
        r.register(
            "broker_sessions_ended",
            "Broker sessions ended, by cause (logout, provider_logout, replaced)",
            m.sessions_ended.clone(),
        );
        r.register(
            "broker_logout_tokens",
            "Back-channel logout tokens to services, by outcome (queued, delivered, retried, \
             undelivered: given up after the last try)",
            m.logout_tokens.clone(),
        );
        r.register(
            "broker_consent_events",
            "Consent withdrawn events (RFC 8417 SETs) to services, by outcome (queued, \
             delivered, retried, refused, undelivered: given up after the last try, \
             not_recorded: dropped because the withdrawal never reached the records, cancelled)",
            m.consent_events.clone(),
        );
        r.register(
            "broker_tokens_revoked",
            "Access tokens revoked because their code was presented again",
            m.tokens_revoked.clone(),
        );
        r.register(
            "broker_record_sign_ins",
            "Sign-ins of persons to their own record, by outcome (read: to read it; fresh: a \
             fresh sign-in for a withdrawal)",
            m.record_sign_ins.clone(),
        );
        r.register(
            "broker_consents_withdrawn",
            "Remembered consents withdrawn by persons on their record",
            m.consents_withdrawn.clone(),
        );
        r.register(
            "broker_disclosure_reports",
            "Disclosures reported by persons as not their doing (\"This wasn't me\"), for the \
             operator to follow up",
            m.disclosure_reports.clone(),
        );
        r.register(
            "broker_build",
            "The running broker's version",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        m
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// How a login at one provider ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    /// An authorization code went back to the relying party.
    Success,
    /// The trust framework refused the release (level not met, agreement or certification
    /// no longer in force, ...).
    Refused,
    /// The provider answered with an error, could not be reached, or sent a token that
    /// failed validation.
    UpstreamError,
    /// The person chose not to share their information.
    Denied,
    /// Anything else after the provider was chosen: the state store, the broker's own
    /// credentials, a relying party no longer active.
    Error,
}

impl LoginOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginOutcome::Success => "success",
            LoginOutcome::Refused => "refused",
            LoginOutcome::UpstreamError => "upstream_error",
            LoginOutcome::Denied => "denied",
            LoginOutcome::Error => "error",
        }
    }
}

/// Which call to a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamStep {
    /// The discovery document and the JWKS it names, fetched together.
    Discovery,
    /// Redeeming the provider's authorization code.
    Token,
    Userinfo,
    /// Refetching the JWKS after an unknown `kid`.
    Jwks,
}

impl UpstreamStep {
    pub fn as_str(self) -> &'static str {
        match self {
            UpstreamStep::Discovery => "discovery",
            UpstreamStep::Token => "token",
            UpstreamStep::Userinfo => "userinfo",
            UpstreamStep::Jwks => "jwks",
        }
    }
}

/// A state store operation (the `TypedStore` methods, and the rate limiter's counter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOp {
    Put,
    PutNew,
    Take,
    Get,
    /// A rate-limit counter.
    Hit,
    /// The sweep for abandoned logins.
    Sweep,
}

impl StoreOp {
    const ALL: [StoreOp; 6] = [
        StoreOp::Put,
        StoreOp::PutNew,
        StoreOp::Take,
        StoreOp::Get,
        StoreOp::Hit,
        StoreOp::Sweep,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StoreOp::Put => "put",
            StoreOp::PutNew => "put_new",
            StoreOp::Take => "take",
            StoreOp::Get => "get",
            StoreOp::Hit => "hit",
            StoreOp::Sweep => "sweep",
        }
    }
}

/// What a rate limit was counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitScope {
    /// A registered relying party (its client id).
    Client,
    /// A source address.
    Address,
}

impl RateLimitScope {
    const ALL: [RateLimitScope; 2] = [RateLimitScope::Client, RateLimitScope::Address];

    pub fn as_str(self) -> &'static str {
        match self {
            RateLimitScope::Client => "client",
            RateLimitScope::Address => "address",
        }
    }
}

/// The label for a provider id: the id when the registry knows it, `unknown` otherwise, so
/// that an id read back from stored state or a request can never grow the series.
pub fn provider_label(registry: &trust_framework::Registry, provider_id: &str) -> String {
    registry
        .provider(provider_id)
        .map_or_else(|| UNKNOWN.to_owned(), |p| p.id.clone())
}

/// Counts the end of a login at `provider` (taken from the registry, hence bounded).
pub fn login(provider: &IdentityProvider, outcome: LoginOutcome) {
    count_login(provider.id.clone(), outcome);
}

fn count_login(provider: String, outcome: LoginOutcome) {
    METRICS
        .logins
        .get_or_create(&LoginLabels {
            provider,
            outcome: outcome.as_str(),
        })
        .inc();
}

/// The login at one provider, from the callback to its end, counted exactly once: by
/// [`LoginLeg::end`], or as [`LoginOutcome::Error`] when it is dropped on any other path (an
/// early return with `?`, a cancelled request), so that no failure path can go uncounted.
/// [`LoginLeg::goes_on`] hands the login to a later request (the consent page) uncounted.
#[derive(Debug)]
#[must_use = "a login leg counts as an error when dropped"]
pub struct LoginLeg {
    provider: Option<String>,
}

impl LoginLeg {
    /// `provider_id` comes from stored state: it is checked against `registry`.
    pub fn new(registry: &trust_framework::Registry, provider_id: &str) -> Self {
        Self {
            provider: Some(provider_label(registry, provider_id)),
        }
    }

    /// Counts the outcome; later calls, and the drop, count nothing more.
    pub fn end(&mut self, outcome: LoginOutcome) {
        if let Some(provider) = self.provider.take() {
            count_login(provider, outcome);
        }
    }

    /// The login continues in another request, which counts its end.
    pub fn goes_on(&mut self) {
        self.provider = None;
    }
}

impl Drop for LoginLeg {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            count_login(provider, LoginOutcome::Error);
        }
    }
}

/// Records one call to a provider: its duration, and an error when `ok` is false.
pub fn upstream_call(
    provider: &IdentityProvider,
    step: UpstreamStep,
    duration: Duration,
    ok: bool,
) {
    let labels = UpstreamLabels {
        provider: provider.id.clone(),
        step: step.as_str(),
    };
    METRICS
        .upstream_duration
        .get_or_create(&labels)
        .observe(duration.as_secs_f64());
    if !ok {
        METRICS.upstream_errors.get_or_create(&labels).inc();
    }
}

/// Counts a failed state store operation.
/// A call to the records failed or timed out.
pub fn records_error() {
    METRICS.records_errors.inc();
}

/// Audit events the records could not take in time were dropped.
pub fn audit_events_dropped(n: usize) {
    METRICS
        .audit_events_dropped
        .inc_by(u64::try_from(n).unwrap_or(u64::MAX));
}

pub fn store_error(op: StoreOp) {
    METRICS
        .store_errors
        .get_or_create(&OpLabels { op: op.as_str() })
        .inc();
}

/// Counts a request the rate limiter refused. For the rate limiter: call it once per refused
/// request, with the scope whose limit was exceeded (never the client id or the address
/// itself: those stay out of the metrics).
pub fn rate_limited(scope: RateLimitScope) {
    METRICS
        .rate_limited
        .get_or_create(&ScopeLabels {
            scope: scope.as_str(),
        })
        .inc();
}

/// Counts a login abandoned before `stage`.
pub fn abandoned(stage: crate::login::abandoned::Stage) {
    METRICS
        .abandoned
        .get_or_create(&StageLabels {
            stage: stage.as_str(),
        })
        .inc();
}

/// A session started (`renewed`: a new sign-in of the same person kept its session).
pub fn session_started(renewed: bool) {
    let outcome = if renewed { "renewed" } else { "new" };
    METRICS
        .sessions_started
        .get_or_create(&OutcomeLabels { outcome })
        .inc();
}

/// A login was served from a session.
pub fn session_reused() {
    METRICS.sessions_reused.inc();
}

/// A session could not stand in for a login.
pub fn session_not_reused(reason: &'static str) {
    METRICS
        .sessions_not_reused
        .get_or_create(&ReasonLabels { reason })
        .inc();
}

/// A session ended.
pub fn session_ended(cause: crate::session::EndCause) {
    METRICS
        .sessions_ended
        .get_or_create(&CauseLabels {
            cause: cause.as_str(),
        })
        .inc();
}

/// What became of a logout token owed to a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoutToken {
    Queued,
    Delivered,
    Retried,
    Undelivered,
}

impl LogoutToken {
    const ALL: [Self; 4] = [
        Self::Queued,
        Self::Delivered,
        Self::Retried,
        Self::Undelivered,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Delivered => "delivered",
            Self::Retried => "retried",
            Self::Undelivered => "undelivered",
        }
    }
}

pub fn logout_token(outcome: LogoutToken) {
    METRICS
        .logout_tokens
        .get_or_create(&OutcomeLabels {
            outcome: outcome.as_str(),
        })
        .inc();
}

/// What became of a consent withdrawn event owed to a service (`crate::secevent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentEvent {
    Queued,
    Delivered,
    Retried,
    Refused,
    Undelivered,
    NotRecorded,
    Cancelled,
}

impl ConsentEvent {
    const ALL: [Self; 7] = [
        Self::Queued,
        Self::Delivered,
        Self::Retried,
        Self::Refused,
        Self::Undelivered,
        Self::NotRecorded,
        Self::Cancelled,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Delivered => "delivered",
            Self::Retried => "retried",
            Self::Refused => "refused",
            Self::Undelivered => "undelivered",
            Self::NotRecorded => "not_recorded",
            Self::Cancelled => "cancelled",
        }
    }
}

pub fn consent_event(outcome: ConsentEvent) {
    METRICS
        .consent_events
        .get_or_create(&OutcomeLabels {
            outcome: outcome.as_str(),
        })
        .inc();
}

/// A replayed code revoked its access token.
pub fn token_revoked() {
    METRICS.tokens_revoked.inc();
}

/// A person signed in to their record (`fresh`: afresh, for a withdrawal).
pub fn record_sign_in(fresh: bool) {
    METRICS
        .record_sign_ins
        .get_or_create(&OutcomeLabels {
            outcome: if fresh { "fresh" } else { "read" },
        })
        .inc();
}

/// A person withdrew a remembered consent.
pub fn consent_withdrawn() {
    METRICS.consents_withdrawn.inc();
}

/// A person reported a disclosure as not their doing.
pub fn disclosure_reported() {
    METRICS.disclosure_reports.inc();
}

/// Counts one open client connection for as long as it is held.
#[derive(Debug)]
pub struct OpenConnection(());

impl Drop for OpenConnection {
    fn drop(&mut self) {
        METRICS.open_connections.dec();
    }
}

/// A client connection was accepted: counted open until the returned guard is dropped.
pub fn connection_opened() -> OpenConnection {
    METRICS.open_connections.inc();
    OpenConnection(())
}

/// Counts an authorization request the trust framework refused at `/authorize`, by the
/// refusal's kind (bounded; the client and what it asked stay in the audit trail). Refusals
/// after a provider was chosen are logins with the outcome `refused`.
pub fn policy_refused(refusal: &trust_framework::Refusal) {
    METRICS
        .policy_refusals
        .get_or_create(&ReasonLabels {
            reason: refusal.kind(),
        })
        .inc();
}

/// Middleware (`axum::middleware::from_fn`) counting every request by method, route template
/// and status class, and timing it by route template. It wraps the whole router, outside the
/// refusals made before routing; the route template comes back on the response from
/// [`route_of`]. A request that matched no route is `unmatched`; one refused before routing
/// (head, body, per-address rate limit) is `refused`.
pub async fn track(request: Request, next: Next) -> Response {
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let route = match response.extensions().get::<MatchedPath>() {
        Some(matched) => matched.as_str().to_owned(),
        None if matches!(
            response.status(),
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
        ) =>
        {
            "unmatched".to_owned()
        }
        None => "refused".to_owned(),
    };
    METRICS
        .http_requests
        .get_or_create(&HttpLabels {
            method,
            route: route.clone(),
            status: status_class(response.status()),
        })
        .inc();
    METRICS
        .http_duration
        .get_or_create(&RouteLabels { route })
        .observe(elapsed.as_secs_f64());
    response
}

/// Route layer (`Router::route_layer`): copies the route template axum matched onto the
/// response, where [`track`], outside the router, reads it.
pub async fn route_of(request: Request, next: Next) -> Response {
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(request).await;
    if let Some(matched) = matched {
        response.extensions_mut().insert(matched);
    }
    response
}

/// HTTP allows any token as a method: only the standard ones get their own label.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "other",
    }
}

/// The whole registry in the OpenMetrics text format.
pub fn render() -> Result<String, std::fmt::Error> {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &METRICS.registry)?;
    Ok(text)
}

/// `GET /metrics`. Never cached: every scrape must see the counts of now.
pub async fn serve() -> Response {
    match render() {
        Ok(text) => {
            let mut response = text.into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "metrics could not be encoded");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_closed_sets() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
        assert_eq!(status_class(StatusCode::SEE_OTHER), "3xx");
        assert_eq!(status_class(StatusCode::TOO_MANY_REQUESTS), "4xx");
        assert_eq!(status_class(StatusCode::SWITCHING_PROTOCOLS), "other");
    }

    #[test]
    fn a_dropped_leg_is_an_error_and_an_ended_one_counts_once() {
        let registry = trust_framework::Registry::from_toml(include_str!(
            "../../examples/registry/pan-canada.toml"
        ))
        .unwrap();
        let count = |provider: &str, outcome: LoginOutcome| {
            METRICS
                .logins
                .get_or_create(&LoginLabels {
                    provider: provider.to_owned(),
                    outcome: outcome.as_str(),
                })
                .get()
        };
        let errors = count("qc-sqin", LoginOutcome::Error);
        let denied = count("qc-sqin", LoginOutcome::Denied);
        let unknown = count(UNKNOWN, LoginOutcome::Error);
        drop(LoginLeg::new(&registry, "qc-sqin"));
        LoginLeg::new(&registry, "qc-sqin").end(LoginOutcome::Denied);
        LoginLeg::new(&registry, "qc-sqin").goes_on();
        drop(LoginLeg::new(&registry, "not-a-provider"));
        assert!(count("qc-sqin", LoginOutcome::Error) > errors);
        assert!(count("qc-sqin", LoginOutcome::Denied) > denied);
        assert!(count(UNKNOWN, LoginOutcome::Error) > unknown);
        let text = render().unwrap();
        assert!(!text.contains("not-a-provider"), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }
}
