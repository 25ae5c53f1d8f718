//! Back-Channel Logout 1.0, as the relying party: the broker POSTs `logout_token` to
//! `/backchannel-logout/{client_id}` when a session this service took part in has ended, and
//! the service ends its own session of it (the result page then says so).
//!
//! Security invariant: a logout token is accepted only when it is signed by a key of the
//! broker's JWKS with one of the ID token algorithms (never `none`, never HMAC), explicitly
//! typed `logout+jwt` (so an ID token cannot pass for one), issued by the broker, addressed to
//! this service, issued at most [`MAX_AGE_SECS`] ago and not in the future (with [`SKEW_SECS`]
//! of clock skew), unexpired, carrying the back-channel logout event, no `nonce`, a `sid` or a
//! `sub`, and a `jti` not seen before. A `jti` is remembered until its token would be refused
//! as too old anyway, so replay is refused for as long as it could otherwise succeed; a full
//! replay cache refuses every token (fails closed) rather than forget one. The current time is
//! a parameter of the checks.
//!
//! `GET /backchannel-logout/{client_id}/received` lists the tokens received and verified, so
//! that tests and people can see them: logout tokens (`events`) and the security event tokens
//! of `super::security_events` (`security_events`).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::RelyingService;
use super::callback::fetch_json;
use super::security_events::ReceivedSet;
use super::verify::{IdTokenError, SKEW_SECS, verify_signature};
use crate::util::{lock, now_unix, parse_params};

/// The event a logout token must announce (Back-Channel Logout 1.0 2.4).
pub(super) const BACKCHANNEL_LOGOUT_EVENT: &str =
    "http://schemas.openid.net/event/backchannel-logout";

/// A logout token older than this is refused: the broker sends it when the session ends.
pub(super) const MAX_AGE_SECS: i64 = 300;

/// Why a logout token was refused (Back-Channel Logout 1.0 2.6).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(super) enum LogoutTokenError {
    #[error("logout_token is required")]
    Missing,
    #[error("a parameter is repeated")]
    RepeatedParameter,
    #[error("the logout token is not valid: {0}")]
    Token(#[from] IdTokenError),
    #[error("the logout token is not typed logout+jwt")]
    NotTyped,
    #[error("iss is {0:?}, not the broker")]
    Issuer(String),
    #[error("aud does not name this service")]
    Audience,
    #[error("iat is missing, in the future or too old")]
    IssuedAt,
    #[error("the logout token has expired or has no exp")]
    Expired,
    #[error("the logout token has no jti")]
    NoJti,
    #[error("events has no back-channel logout event")]
    NoEvent,
    #[error("a logout token must not carry a nonce")]
    Nonce,
    #[error("the logout token has neither sid nor sub")]
    NoSessionOrSubject,
    #[error("this logout token was received before (jti)")]
    Replayed,
    #[error("too many logout tokens to remember; try again later")]
    Busy,
}

/// What the token must say.
#[derive(Debug, Clone, Copy)]
pub(super) struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// Seconds since the Unix epoch.
    pub now: i64,
}

/// A logout token whose signature and claims were verified (its `jti` not yet checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct VerifiedLogout {
    pub sid: Option<String>,
    pub sub: Option<String>,
    pub jti: String,
    pub iat: i64,
}

fn check_claims(
    header: &Map<String, Value>,
    claims: &Map<String, Value>,
    expected: Expected<'_>,
) -> Result<VerifiedLogout, LogoutTokenError> {
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let typ = header
        .get("typ")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let typ = typ.to_ascii_lowercase();
    if typ != "logout+jwt" && typ != "application/logout+jwt" {
        return Err(LogoutTokenError::NotTyped);
    }
    let iss = text("iss").unwrap_or_default();
    if iss != expected.issuer {
        return Err(LogoutTokenError::Issuer(iss.to_owned()));
    }
    let audience = match claims.get("aud") {
        Some(Value::String(aud)) => aud == expected.client_id,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(expected.client_id)),
        _ => false,
    };
    if !audience {
        return Err(LogoutTokenError::Audience);
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .filter(|iat| *iat <= expected.now + SKEW_SECS && *iat >= expected.now - MAX_AGE_SECS)
        .ok_or(LogoutTokenError::IssuedAt)?;
    match claims.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp + SKEW_SECS > expected.now => {}
        _ => return Err(LogoutTokenError::Expired),
    }
    let jti = text("jti").ok_or(LogoutTokenError::NoJti)?;
    let event = claims
        .get("events")
        .and_then(|events| events.get(BACKCHANNEL_LOGOUT_EVENT));
    if !event.is_some_and(Value::is_object) {
        return Err(LogoutTokenError::NoEvent);
    }
    if claims.contains_key("nonce") {
        return Err(LogoutTokenError::Nonce);
    }
    let (sid, sub) = (text("sid"), text("sub"));
    if sid.is_none() && sub.is_none() {
        return Err(LogoutTokenError::NoSessionOrSubject);
    }
    Ok(VerifiedLogout {
        sid: sid.map(str::to_owned),
        sub: sub.map(str::to_owned),
        jti: jti.to_owned(),
        iat,
    })
}

/// Verifies `token` against the broker's `jwks` and the expected claims.
pub(super) fn verify_logout_token(
    token: &str,
    jwks: &Value,
    expected: Expected<'_>,
) -> Result<VerifiedLogout, LogoutTokenError> {
    let verified = verify_signature(token, jwks)?;
    check_claims(&verified.header, &verified.claims, expected)
}

/// A verified logout token, as the service recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ReceivedLogout {
    pub client_id: String,
    pub sid: Option<String>,
    pub sub: Option<String>,
    pub jti: String,
    pub iat: i64,
    /// Seconds since the Unix epoch.
    pub received_at: i64,
}

impl ReceivedLogout {
    pub(super) fn received_at_text(&self) -> String {
        OffsetDateTime::from_unix_timestamp(self.received_at)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_else(|| self.received_at.to_string())
    }

    /// Whether this token ended the sign-in whose ID token said `sid` and `sub` and was issued
    /// at `iat`: by `sid` when the token names one, else every sign-in of `sub` issued before
    /// the token (a later sign-in of the same person is a new session).
    pub(super) fn ends(
        &self,
        client_id: &str,
        sid: Option<&str>,
        sub: Option<&str>,
        iat: i64,
    ) -> bool {
        if self.client_id != client_id {
            return false;
        }
        match &self.sid {
            Some(ended) => sid == Some(ended.as_str()),
            None => self.sub.as_deref().is_some_and(|s| sub == Some(s)) && self.iat >= iat,
        }
    }
}

#[derive(Debug, Default)]
struct Log {
    /// `client_id` and `jti` -> when it may be forgotten (seconds since the Unix epoch), for
    /// logout tokens and security event tokens alike.
    seen: HashMap<(String, String), i64>,
    events: VecDeque<ReceivedLogout>,
    security_events: VecDeque<ReceivedSet>,
}

/// Why a verified token's `jti` could not be remembered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unremembered {
    /// It was received before.
    Replayed,
    /// Too many are remembered: refused rather than one forgotten.
    Busy,
}

impl Log {
    /// Remembers the `jti` of a token to `client_id` until `forget_at`, once: the check and the
    /// record are one step.
    fn remember(
        &mut self,
        capacity: usize,
        client_id: &str,
        jti: &str,
        now: i64,
        forget_at: i64,
    ) -> Result<(), Unremembered> {
        self.seen.retain(|_, at| *at > now);
        let key = (client_id.to_owned(), jti.to_owned());
        if self.seen.contains_key(&key) {
            return Err(Unremembered::Replayed);
        }
        if self.seen.len() >= capacity {
            return Err(Unremembered::Busy);
        }
        self.seen.insert(key, forget_at);
        Ok(())
    }
}

/// Appends to a bounded log, the oldest leaving first.
fn push_bounded<T>(log: &mut VecDeque<T>, capacity: usize, item: T) {
    if log.len() >= capacity {
        log.pop_front();
    }
    log.push_back(item);
}

/// The verified logout tokens received, in memory and bounded.
#[derive(Debug)]
pub(super) struct Received {
    capacity: usize,
    log: Mutex<Log>,
}

impl Received {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            log: Mutex::new(Log::default()),
        }
    }

    /// Records a verified token, once per `jti`: the check and the record are one step.
    pub(super) fn record(
        &self,
        client_id: &str,
        token: VerifiedLogout,
        now: i64,
    ) -> Result<ReceivedLogout, LogoutTokenError> {
        let mut log = lock(&self.log);
        let forget_at = token.iat + MAX_AGE_SECS + SKEW_SECS + 1;
        log.remember(self.capacity, client_id, &token.jti, now, forget_at)
            .map_err(|e| match e {
                Unremembered::Replayed => LogoutTokenError::Replayed,
                Unremembered::Busy => LogoutTokenError::Busy,
            })?;
        let received = ReceivedLogout {
            client_id: client_id.to_owned(),
            sid: token.sid,
            sub: token.sub,
            jti: token.jti,
            iat: token.iat,
            received_at: now,
        };
        push_bounded(&mut log.events, self.capacity, received.clone());
        Ok(received)
    }

    /// Records a verified security event token, once per `jti` (remembered until
    /// `forget_at`).
    pub(super) fn record_set(
        &self,
        set: ReceivedSet,
        now: i64,
        forget_at: i64,
    ) -> Result<(), Unremembered> {
        let mut log = lock(&self.log);
        log.remember(self.capacity, &set.client_id, &set.jti, now, forget_at)?;
        push_bounded(&mut log.security_events, self.capacity, set);
        Ok(())
    }

    /// The security event tokens received for `client_id`, oldest first.
    pub(super) fn sets_for_client(&self, client_id: &str) -> Vec<ReceivedSet> {
        lock(&self.log)
            .security_events
            .iter()
            .filter(|e| e.client_id == client_id)
            .cloned()
            .collect()
    }

    /// The tokens received for `client_id`, oldest first.
    pub(super) fn for_client(&self, client_id: &str) -> Vec<ReceivedLogout> {
        lock(&self.log)
            .events
            .iter()
            .filter(|e| e.client_id == client_id)
            .cloned()
            .collect()
    }

    /// The token that ended a sign-in (see [`ReceivedLogout::ends`]), if one did.
    pub(super) fn ended(
        &self,
        client_id: &str,
        sid: Option<&str>,
        sub: Option<&str>,
        iat: i64,
    ) -> Option<ReceivedLogout> {
        lock(&self.log)
            .events
            .iter()
            .find(|e| e.ends(client_id, sid, sub, iat))
            .cloned()
    }
}

pub(super) fn answer(status: StatusCode, body: Option<Value>) -> Response {
    let mut response = match body {
        Some(body) => (status, Json(body)).into_response(),
        None => status.into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// The broker's published keys (its discovery document's `jwks_uri`), to check what it pushes
/// to the service; what went wrong when they cannot be read.
pub(super) async fn broker_keys(service: &RelyingService) -> Result<Value, String> {
    let discovery = service.discovery().await.map_err(|e| e.to_string())?;
    fetch_json(service, &discovery.jwks_uri, None).await
}

fn refusal(status: StatusCode, error: &str, description: &str) -> Response {
    answer(
        status,
        Some(json!({ "error": error, "error_description": description })),
    )
}

async fn accept(
    service: &RelyingService,
    client_id: &str,
    body: &str,
) -> Result<ReceivedLogout, Response> {
    let invalid =
        |e: LogoutTokenError| refusal(StatusCode::BAD_REQUEST, "invalid_request", &e.to_string());
    let client = service.client(client_id).ok_or_else(|| {
        refusal(
            StatusCode::NOT_FOUND,
            "invalid_request",
            "this service is not known",
        )
    })?;
    let params = parse_params(body).map_err(|_| invalid(LogoutTokenError::RepeatedParameter))?;
    let token = params
        .get("logout_token")
        .ok_or_else(|| invalid(LogoutTokenError::Missing))?;
    // A 5xx: the broker tries again later, as it should.
    let jwks = broker_keys(service).await.map_err(|detail| {
        tracing::warn!(%detail, "demo relying service: the broker's keys cannot be read");
        refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the broker's keys cannot be read now",
        )
    })?;
    let now = now_unix();
    let verified = verify_logout_token(
        token,
        &jwks,
        Expected {
            issuer: &service.config.broker_issuer,
            client_id: &client.client_id,
            now,
        },
    )
    .map_err(invalid)?;
    service
        .received
        .record(&client.client_id, verified, now)
        .map_err(|e| match e {
            LogoutTokenError::Busy => refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                &e.to_string(),
            ),
            e => invalid(e),
        })
}

/// `POST /backchannel-logout/{client_id}`: a logout token from the broker.
pub(super) async fn receive(
    State(service): State<Arc<RelyingService>>,
    Path(client_id): Path<String>,
    body: String,
) -> Response {
    match accept(&service, &client_id, &body).await {
        Ok(received) => {
            tracing::info!(
                client_id,
                sid = received.sid.as_deref().unwrap_or_default(),
                "demo relying service: back-channel logout received"
            );
            answer(StatusCode::OK, None)
        }
        Err(response) => {
            tracing::warn!(client_id, status = %response.status(), "demo relying service: logout token refused");
            response
        }
    }
}

/// `GET /backchannel-logout/{client_id}/received`: the verified logout tokens received.
pub(super) async fn received(
    State(service): State<Arc<RelyingService>>,
    Path(client_id): Path<String>,
) -> Response {
    if service.client(&client_id).is_none() {
        return refusal(
            StatusCode::NOT_FOUND,
            "invalid_request",
            "this service is not known",
        );
    }
    let events: Vec<Value> = service
        .received
        .for_client(&client_id)
        .into_iter()
        .map(|e| json!({ "sid": e.sid, "sub": e.sub, "jti": e.jti, "iat": e.iat, "received_at": e.received_at }))
        .collect();
    let security_events: Vec<Value> = service
        .received
        .sets_for_client(&client_id)
        .iter()
        .map(ReceivedSet::to_json)
        .collect();
    answer(
        StatusCode::OK,
        Some(json!({
            "client_id": client_id,
            "events": events,
            "security_events": security_events,
        })),
    )
}

#[cfg(test)]
mod tests;
