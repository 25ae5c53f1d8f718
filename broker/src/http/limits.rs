//! Rate limits per source address and per relying party, and the bound on concurrent calls to
//! providers. Counters live in the state store, so replicas sharing Redis share the limits.
//!
//! A counter is a fixed window that starts at its first hit (`Store::hit`): simple, one round
//! trip, and at worst twice the limit across a window boundary, which is what a limit of this
//! kind is for (stopping floods, not metering). When the store cannot count, the request is
//! refused (503): the store's doubt is not a reason to lift a limit.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::admin::auth::AdminError;
use crate::app::Broker;
use crate::audit::{Event, RateScope};
use crate::metrics::{self, RateLimitScope};
use crate::oidc::error::OAuthError;
use crate::store::Kind;

/// `[limits]` in the configuration. A limit of 0 turns that limit off.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Requests per source address per minute (IPv6: per /64). Generous by default, because a
    /// department's proxy can put many people behind one address.
    #[serde(default = "default_per_address")]
    pub per_address_per_minute: u64,
    /// Authorization, pushed and token requests per relying party per minute.
    #[serde(default = "default_per_client")]
    pub per_client_per_minute: u64,
    /// Calls to providers in flight at once; a login that cannot get a slot within
    /// `upstream_queue_ms` is refused as temporarily unavailable instead of queueing forever.
    #[serde(default = "default_concurrent_upstream")]
    pub max_concurrent_upstream: usize,
    #[serde(default = "default_queue_ms")]
    pub upstream_queue_ms: u64,
    /// The counting window; the limits above are per minute whatever the window, scaled.
    #[serde(default = "default_window")]
    pub window_seconds: u64,
    /// How long a client has to send a request's whole body once its head has arrived
    /// (`crate::http::request_body`); the head has its own bound in `crate::http::server`.
    #[serde(default = "default_body_ms")]
    pub body_timeout_ms: u64,
    /// Client connections served at once; beyond, new ones wait to be accepted
    /// (`crate::http::server`). Never off: 0 counts as 1.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// How long a person has for each step of a sign-in (choosing a provider, signing in at
    /// it, the consent page); a step not taken by then ends the login as abandoned
    /// (`crate::login::abandoned`). Never off: 0 counts as 1.
    #[serde(default = "default_login_seconds")]
    pub login_seconds: u64,
    /// How long a relying party has to redeem an authorization code; an unredeemed code ends
    /// its login as abandoned. FAPI 2.0 allows at most 60 s, the default; a service that
    /// redeems at once can ask for less. The configuration refuses more than 60; 0 counts as 1.
    #[serde(default = "default_code_seconds")]
    pub code_seconds: u64,
}

impl Limits {
    /// See [`Limits::login_seconds`].
    pub fn login_step(&self) -> Duration {
        Duration::from_secs(self.login_seconds.max(1))
    }

    /// See [`Limits::code_seconds`]; never longer than [`MAX_CODE_SECONDS`], whoever built
    /// these limits.
    pub fn code_lifetime(&self) -> Duration {
        Duration::from_secs(self.code_seconds.clamp(1, MAX_CODE_SECONDS))
    }

    /// The first setting out of its bounds, as the configuration should say it.
    pub fn out_of_bounds(&self) -> Option<String> {
        (self.code_seconds > MAX_CODE_SECONDS).then(|| {
            format!(
                "code_seconds = {} is longer than an authorization code may live ({MAX_CODE_SECONDS} s, FAPI 2.0)",
                self.code_seconds
            )
        })
    }

    fn window(&self) -> Duration {
        Duration::from_secs(self.window_seconds.max(1))
    }

    /// A per-minute limit as a count per window (at least 1 when the limit is on).
    fn per_window(&self, per_minute: u64) -> u64 {
        if per_minute == 0 {
            return 0;
        }
        (per_minute.saturating_mul(self.window_seconds.max(1)) / 60).max(1)
    }
}

fn default_login_seconds() -> u64 {
    600
}

/// FAPI 2.0 Security Profile 5.3.2.1: authorization codes live at most 60 seconds.
pub const MAX_CODE_SECONDS: u64 = 60;

fn default_code_seconds() -> u64 {
    MAX_CODE_SECONDS
}

fn default_per_address() -> u64 {
    1200
}
fn default_per_client() -> u64 {
    12_000
}
fn default_concurrent_upstream() -> usize {
    256
}
fn default_queue_ms() -> u64 {
    2000
}
fn default_window() -> u64 {
    60
}
fn default_body_ms() -> u64 {
    10_000
}
fn default_max_connections() -> usize {
    4096
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_address_per_minute: default_per_address(),
            per_client_per_minute: default_per_client(),
            max_concurrent_upstream: default_concurrent_upstream(),
            upstream_queue_ms: default_queue_ms(),
            window_seconds: default_window(),
            body_timeout_ms: default_body_ms(),
            max_connections: default_max_connections(),
            login_seconds: default_login_seconds(),
            code_seconds: default_code_seconds(),
        }
    }
}

/// Why a request may not go on.
#[derive(Debug)]
pub enum Refused {
    /// Over the limit; try again after this many seconds.
    Limited(u64),
    /// The store could not count.
    Unavailable,
}

impl Refused {
    /// The OAuth error for a program or a redirect to the relying party.
    pub fn to_oauth(&self, what: &str) -> OAuthError {
        match self {
            Refused::Limited(secs) => OAuthError::rate_limited(
                format!("too many requests {what}; try again in {secs} s"),
                *secs,
            ),
            Refused::Unavailable => OAuthError::unavailable(
                "the broker cannot check its rate limits; try again shortly",
            ),
        }
    }
}

/// Counts one request against `key` (`who`, in `scope`). Every refusal is counted in the
/// metrics; only the request that went over goes into the audit trail, once per key and window
/// (across replicas sharing Redis too, whose count is atomic), so that a client hammering the
/// broker cannot make the audit log grow at its request rate.
async fn count(
    broker: &Broker,
    scope: RateLimitScope,
    key: &str,
    who: &(dyn fmt::Display + Sync),
    per_minute: u64,
) -> Result<(), Refused> {
    let limit = broker.limits.per_window(per_minute);
    if limit == 0 {
        return Ok(());
    }
    match broker
        .store
        .0
        .hit(Kind::RateCounter, key, broker.limits.window())
        .await
    {
        Ok((n, _)) if n <= limit => Ok(()),
        // Rounded up: a client that waits exactly this long finds a new window.
        Ok((n, left)) => {
            metrics::rate_limited(scope);
            if n == limit + 1 {
                let window_seconds = broker.limits.window().as_secs();
                let scope = match scope {
                    RateLimitScope::Client => RateScope::Client,
                    RateLimitScope::Address => RateScope::Address,
                };
                broker.audit(Event::RateLimited {
                    scope,
                    who,
                    limit,
                    window_seconds,
                });
            }
            Err(Refused::Limited(
                u64::try_from(left.as_millis().div_ceil(1000))
                    .unwrap_or(u64::MAX)
                    .max(1),
            ))
        }
        Err(e) => {
            metrics::store_error(metrics::StoreOp::Hit);
            tracing::error!(error = %e, "rate limit counter unavailable");
            Err(Refused::Unavailable)
        }
    }
}

/// Counts one request of a relying party (call once the client is known to be registered).
pub async fn client(broker: &Broker, client_id: &str) -> Result<(), Refused> {
    count(
        broker,
        RateLimitScope::Client,
        &format!("client:{client_id}"),
        &client_id,
        broker.limits.per_client_per_minute,
    )
    .await
}

/// The address a limit is counted against: IPv4 as is, IPv6 by its /64, which is what one
/// subscriber usually holds.
fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("addr:{v4}"),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("addr:{v4}"),
            None => {
                let s = v6.segments();
                format!("addr:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// Paths that are never limited: probes and the stylesheet.
fn exempt(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics") || path.starts_with("/static/")
}

/// Pages a person's browser asks for: refused with a bilingual page, not JSON.
fn for_people(method: &Method, path: &str) -> bool {
    matches!(
        path,
        "/authorize" | "/authorize/select" | "/callback" | "/consent"
    ) && (method == Method::GET || method == Method::POST)
}

/// Middleware: the per-address limit on every request but probes.
pub async fn per_address(State(broker): State<Broker>, request: Request, next: Next) -> Response {
    let limit = broker.limits.per_address_per_minute;
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let (Some(ip), false) = (peer, exempt(request.uri().path()) || limit == 0) else {
        return next.run(request).await;
    };
    match count(
        &broker,
        RateLimitScope::Address,
        &address_key(ip),
        &ip,
        limit,
    )
    .await
    {
        Ok(()) => next.run(request).await,
        Err(refused) => refuse(
            request.method(),
            request.uri(),
            request.headers(),
            &refused.to_oauth("from this address"),
        ),
    }
}

/// A refusal before any handler ran: the bilingual error page for a person's browser, the
/// OAuth error in JSON for a program. Nothing is trusted yet, so nothing is redirected.
pub(crate) fn refuse(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    error: &OAuthError,
) -> Response {
    refuse_advising(method, uri, headers, error, None)
}

/// As [`refuse`], with what the person can do about it on the page.
fn refuse_advising(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    error: &OAuthError,
    advice: Option<crate::http::pages::Advice>,
) -> Response {
    if !for_people(method, uri.path()) {
        return error.clone().into_response();
    }
    let lang = crate::http::lang::negotiate(None, None, headers);
    let here = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let mut page = crate::http::pages::error_advising(
        lang,
        error.status(),
        error,
        advice,
        &error.description,
        crate::http::lang::same_page_other_lang(&here, lang),
    );
    if let Some(secs) = error.retry_after
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        page.headers_mut().insert(header::RETRY_AFTER, v);
    }
    page
}

/// A refusal of the request's framing (its head or its body) before any handler: in the form
/// the caller reads (the admin API's error for the admin API, otherwise as [`refuse`]), with
/// `status`, and closing the connection, because what the client sends next cannot be trusted
/// to start a new request. A person's page says what they can do about it (`advice`).
pub(crate) fn refuse_and_close(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    status: StatusCode,
    admin: fn(String) -> AdminError,
    description: String,
    advice: Option<crate::http::pages::Advice>,
) -> Response {
    let mut response = if uri.path().starts_with("/admin/") {
        admin(description).into_response()
    } else {
        refuse_advising(
            method,
            uri,
            headers,
            &OAuthError::invalid_request(description),
            advice,
        )
    };
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A slot for a call to a provider, or a refusal once the queue wait runs out.
pub async fn upstream_slot(
    broker: &Broker,
) -> Result<tokio::sync::SemaphorePermit<'_>, OAuthError> {
    let wait = Duration::from_millis(broker.limits.upstream_queue_ms);
    match tokio::time::timeout(wait, broker.upstream_slots.acquire()).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => {
            tracing::warn!("no upstream slot free: too many provider calls in flight");
            Err(OAuthError::unavailable(
                "the broker is busy with other sign-ins; try again in a few seconds",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn addresses_group_ipv6_by_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(address_key(mapped), "addr:192.0.2.1");
    }

    #[test]
    fn probes_are_exempt_and_pages_are_for_people() {
        assert!(exempt("/healthz") && exempt("/static/broker.css"));
        assert!(!exempt("/token"));
        assert!(for_people(&Method::GET, "/authorize"));
        assert!(!for_people(&Method::POST, "/token"));
    }

    #[test]
    fn a_code_never_outlives_sixty_seconds() {
        let l = |s| Limits {
            code_seconds: s,
            ..Limits::default()
        };
        assert_eq!(Limits::default().code_lifetime(), Duration::from_secs(60));
        assert_eq!(l(0).code_lifetime(), Duration::from_secs(1));
        assert_eq!(l(5).code_lifetime(), Duration::from_secs(5));
        assert_eq!(l(3600).code_lifetime(), Duration::from_secs(60));
        assert!(l(60).out_of_bounds().is_none());
        assert!(l(61).out_of_bounds().is_some_and(|why| why.contains("61")));
    }

    #[test]
    fn per_minute_limits_scale_to_the_window() {
        let l = |w| Limits {
            window_seconds: w,
            ..Limits::default()
        };
        assert_eq!(l(60).per_window(1200), 1200);
        assert_eq!(l(2).per_window(1200), 40);
        assert_eq!(l(1).per_window(30), 1);
        assert_eq!(l(1).per_window(0), 0);
    }

    #[test]
    fn refusals_carry_retry_after() {
        let e = Refused::Limited(42).to_oauth("from this address");
        assert_eq!(e.retry_after, Some(42));
        assert_eq!(e.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            Refused::Unavailable.to_oauth("x").status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
