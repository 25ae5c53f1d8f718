//! Push delivery of Security Event Tokens (RFC 8935), as the receiver: the broker POSTs a SET
//! (RFC 8417) to `/security-events/{client_id}` when a person withdraws a consent this service
//! relied on. A SET accepted is answered 202; one refused, 400 with `{"err", "description"}`
//! (RFC 8935 section 2.4), which the broker does not send again.
//!
//! Security invariant: a SET is accepted only when it is signed by a key of the broker's JWKS
//! with one of the ID token algorithms (never `none`, never HMAC), explicitly typed
//! `secevent+jwt` (so that no ID token or logout token passes for one), issued by the broker,
//! addressed to this service, issued at most [`MAX_AGE_SECS`] ago and not in the future (with
//! [`SKEW_SECS`] of clock skew), carrying the consent withdrawn event and its subject in
//! `sub_id`, no `nonce` and no top-level `sub`, and a `jti` not seen before (remembered for as
//! long as the SET would otherwise be accepted).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::RelyingService;
use super::backchannel::{MAX_AGE_SECS, Unremembered, answer, broker_keys};
use super::verify::{IdTokenError, SKEW_SECS, verify_signature};
use crate::util::now_unix;

/// The event a consent withdrawn SET announces.
pub(super) const CONSENT_WITHDRAWN_EVENT: &str = "urn:pctf:event:consent-withdrawn";

/// Why a SET was refused, each with its RFC 8935 section 2.4 error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(super) enum SetError {
    #[error("the body must be a SET, application/secevent+jwt")]
    ContentType,
    #[error("the SET's signature or key is not valid: {0}")]
    Key(IdTokenError),
    #[error("the SET is not valid: {0}")]
    Token(IdTokenError),
    #[error("the SET is not typed secevent+jwt")]
    NotTyped,
    #[error("iss is {0:?}, not the broker")]
    Issuer(String),
    #[error("aud does not name this service")]
    Audience,
    #[error("iat is missing, in the future or too old")]
    IssuedAt,
    #[error("the SET has no jti")]
    NoJti,
    #[error("events has no consent withdrawn event, or not only it")]
    NoEvent,
    #[error("a SET must not carry a nonce or a top-level sub")]
    IdTokenClaims,
    #[error("sub_id does not name a subject of the broker")]
    Subject,
    #[error("this SET was received before (jti)")]
    Replayed,
}

impl SetError {
    fn err(&self) -> &'static str {
        match self {
            Self::Key(_) => "invalid_key",
            Self::Issuer(_) => "invalid_issuer",
            Self::Audience => "invalid_audience",
            _ => "invalid_request",
        }
    }
}

impl From<IdTokenError> for SetError {
    fn from(e: IdTokenError) -> Self {
        match e {
            IdTokenError::AlgNotAllowed(_)
            | IdTokenError::UnknownKid(_)
            | IdTokenError::BadKey(_)
            | IdTokenError::Signature
            | IdTokenError::NoKid => Self::Key(e),
            other => Self::Token(other),
        }
    }
}

/// A verified consent withdrawn SET, as the service recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ReceivedSet {
    pub client_id: String,
    /// The person's pairwise subject here (`sub_id.sub`).
    pub sub: String,
    pub jti: String,
    pub iat: i64,
    pub agreement_id: String,
    pub agreement_version: u64,
    pub reason: String,
    pub withdrawn_at: i64,
}

impl ReceivedSet {
    pub(super) fn to_json(&self) -> Value {
        json!({
            "client": self.client_id,
            "sub": self.sub,
            "jti": self.jti,
            "iat": self.iat,
            "agreement_id": self.agreement_id,
            "agreement_version": self.agreement_version,
            "reason": self.reason,
            "withdrawn_at": self.withdrawn_at,
        })
    }
}

/// Checks a SET's header and claims, its signature already verified.
fn check_claims(
    header: &Map<String, Value>,
    claims: &Map<String, Value>,
    issuer: &str,
    client_id: &str,
    now: i64,
) -> Result<ReceivedSet, SetError> {
    fn text(v: Option<&Value>) -> Option<&str> {
        v.and_then(Value::as_str).filter(|s| !s.is_empty())
    }
    let typ = text(header.get("typ"))
        .unwrap_or_default()
        .to_ascii_lowercase();
    if typ != "secevent+jwt" && typ != "application/secevent+jwt" {
        return Err(SetError::NotTyped);
    }
    let iss = text(claims.get("iss")).unwrap_or_default();
    if iss != issuer {
        return Err(SetError::Issuer(iss.to_owned()));
    }
    let audience = match claims.get("aud") {
        Some(Value::String(aud)) => aud == client_id,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(client_id)),
        _ => false,
    };
    if !audience {
        return Err(SetError::Audience);
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .filter(|iat| *iat <= now + SKEW_SECS && *iat >= now - MAX_AGE_SECS)
        .ok_or(SetError::IssuedAt)?;
    let jti = text(claims.get("jti")).ok_or(SetError::NoJti)?;
    if claims.contains_key("nonce") || claims.contains_key("sub") {
        return Err(SetError::IdTokenClaims);
    }
    let sub_id = claims.get("sub_id");
    let sub = match (
        text(sub_id.and_then(|s| s.get("format"))),
        text(sub_id.and_then(|s| s.get("iss"))),
        text(sub_id.and_then(|s| s.get("sub"))),
    ) {
        (Some("iss_sub"), Some(i), Some(sub)) if i == issuer => sub,
        _ => return Err(SetError::Subject),
    };
    let events = claims.get("events").and_then(Value::as_object);
    let event = match events {
        Some(events) if events.len() == 1 => events
            .get(CONSENT_WITHDRAWN_EVENT)
            .and_then(Value::as_object)
            .ok_or(SetError::NoEvent)?,
        _ => return Err(SetError::NoEvent),
    };
    let agreement_id = text(event.get("agreement_id")).ok_or(SetError::NoEvent)?;
    let agreement_version = event
        .get("agreement_version")
        .and_then(Value::as_u64)
        .ok_or(SetError::NoEvent)?;
    let withdrawn_at = event
        .get("withdrawn_at")
        .and_then(Value::as_i64)
        .ok_or(SetError::NoEvent)?;
    Ok(ReceivedSet {
        client_id: client_id.to_owned(),
        sub: sub.to_owned(),
        jti: jti.to_owned(),
        iat,
        agreement_id: agreement_id.to_owned(),
        agreement_version,
        reason: text(event.get("reason")).unwrap_or_default().to_owned(),
        withdrawn_at,
    })
}

/// Verifies `set` against the broker's `jwks` and what it must say.
pub(super) fn verify_set(
    set: &str,
    jwks: &Value,
    issuer: &str,
    client_id: &str,
    now: i64,
) -> Result<ReceivedSet, SetError> {
    let verified = verify_signature(set, jwks)?;
    check_claims(&verified.header, &verified.claims, issuer, client_id, now)
}

fn refusal(status: StatusCode, err: &str, description: &str) -> Response {
    answer(
        status,
        Some(json!({ "err": err, "description": description })),
    )
}

fn invalid(e: &SetError) -> Response {
    refusal(StatusCode::BAD_REQUEST, e.err(), &e.to_string())
}

async fn accept(
    service: &RelyingService,
    client_id: &str,
    headers: &HeaderMap,
    body: &str,
) -> Result<ReceivedSet, Response> {
    let client = service.client(client_id).ok_or_else(|| {
        refusal(
            StatusCode::NOT_FOUND,
            "invalid_audience",
            "this service is not known",
        )
    })?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type
        .trim()
        .eq_ignore_ascii_case("application/secevent+jwt")
    {
        return Err(invalid(&SetError::ContentType));
    }
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
    let set = verify_set(
        body.trim(),
        &jwks,
        &service.config.broker_issuer,
        &client.client_id,
        now,
    )
    .map_err(|e| invalid(&e))?;
    let forget_at = set.iat + MAX_AGE_SECS + SKEW_SECS + 1;
    match service.received.record_set(set.clone(), now, forget_at) {
        Ok(()) => Ok(set),
        Err(Unremembered::Replayed) => Err(invalid(&SetError::Replayed)),
        Err(Unremembered::Busy) => Err(refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "too many security events to remember; try again later",
        )),
    }
}

/// `POST /security-events/{client_id}`: a SET from the broker.
pub(super) async fn receive(
    State(service): State<Arc<RelyingService>>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    match accept(&service, &client_id, &headers, &body).await {
        Ok(set) => {
            tracing::info!(
                client_id,
                agreement = set.agreement_id,
                "demo relying service: consent withdrawn event received"
            );
            answer(StatusCode::ACCEPTED, None)
        }
        Err(response) => {
            tracing::warn!(client_id, status = %response.status(), "demo relying service: security event refused");
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "https://broker.example";
    const NOW: i64 = 1_800_000_000;

    fn valid() -> (Map<String, Value>, Map<String, Value>) {
        let header = json!({"alg": "ES256", "kid": "k", "typ": "secevent+jwt"});
        let claims = json!({
            "iss": ISSUER, "aud": "rp", "iat": NOW, "jti": "j1",
            "sub_id": {"format": "iss_sub", "iss": ISSUER, "sub": "pairwise"},
            "events": {CONSENT_WITHDRAWN_EVENT: {
                "agreement_id": "a", "agreement_version": 2, "attributes": ["given_name"],
                "withdrawn_at": NOW - 5, "reason": "no_longer_needed"
            }},
        });
        match (header, claims) {
            (Value::Object(h), Value::Object(c)) => (h, c),
            _ => unreachable!(),
        }
    }

    #[test]
    fn a_valid_set_is_accepted() {
        let (h, c) = valid();
        let set = check_claims(&h, &c, ISSUER, "rp", NOW).unwrap();
        assert_eq!(set.sub, "pairwise");
        assert_eq!(set.agreement_id, "a");
        assert_eq!(set.agreement_version, 2);
        assert_eq!(set.reason, "no_longer_needed");
    }

    /// Whether the valid SET, spoiled by `spoil`, is refused.
    fn refused(spoil: impl FnOnce(&mut Map<String, Value>, &mut Map<String, Value>)) -> bool {
        let (mut h, mut c) = valid();
        spoil(&mut h, &mut c);
        check_claims(&h, &c, ISSUER, "rp", NOW).is_err()
    }

    #[test]
    fn what_could_pass_for_another_token_or_service_is_refused() {
        assert!(refused(|h, _| {
            h.insert("typ".into(), "logout+jwt".into());
        }));
        assert!(refused(|h, _| {
            h.remove("typ");
        }));
        assert!(refused(|_, c| {
            c.insert("iss".into(), "https://other.example".into());
        }));
        assert!(refused(|_, c| {
            c.insert("iat".into(), (NOW - 3600).into());
        }));
        assert!(refused(|_, c| {
            c.insert("nonce".into(), "n".into());
        }));
        assert!(refused(|_, c| {
            c.insert("sub".into(), "pairwise".into());
        }));
        assert!(refused(|_, c| {
            c.remove("jti");
        }));
        assert!(refused(|_, c| {
            c.insert("sub_id".into(), json!({"format": "opaque", "id": "x"}));
        }));
        assert!(refused(|_, c| {
            c.insert("events".into(), json!({"urn:other": {}}));
        }));
        let (h, c) = valid();
        let wrong = check_claims(&h, &c, ISSUER, "other-rp", NOW).unwrap_err();
        assert_eq!(wrong.err(), "invalid_audience");
    }
}
