//! Verification of the broker's ID token: signature (ES256, PS256, RS256 or EdDSA, with the key
//! the header's `kid` names in the broker's JWKS), then `iss`, `aud`/`azp`, `exp`, `iat`, `nonce`.
//!
//! Security invariant: only these four asymmetric algorithms are accepted (never `none`, never
//! HMAC), the key must carry the token's `kid`, and the time checks allow [`SKEW_SECS`] of clock
//! skew. The current time is a parameter.

use serde_json::{Map, Value};

use crate::jose::{VerifyError, verify_with_jwk};

use crate::util::b64url_decode;

/// Allowed clock skew, in seconds, for `exp` and `iat`.
pub(super) const SKEW_SECS: i64 = 60;

const ALLOWED_ALGS: [&str; 4] = ["ES256", "PS256", "RS256", "EdDSA"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum IdTokenError {
    #[error("the token is not a compact JWS")]
    Malformed,
    #[error("the algorithm {0:?} is not allowed")]
    AlgNotAllowed(String),
    #[error("the header names no kid")]
    NoKid,
    #[error("no key of the broker has the kid {0:?}")]
    UnknownKid(String),
    #[error("the key {0:?} cannot verify this token")]
    BadKey(String),
    #[error("the signature does not verify")]
    Signature,
    #[error("iss is {0:?}, not the broker")]
    Issuer(String),
    #[error("aud does not name this service")]
    Audience,
    #[error("azp does not name this service")]
    AuthorizedParty,
    #[error("the token has expired")]
    Expired,
    #[error("the token is issued in the future")]
    IssuedInFuture,
    #[error("nonce does not match the sign-in")]
    Nonce,
    #[error("the token has no sub")]
    NoSubject,
}

/// An ID token whose signature and claims were verified.
#[derive(Debug, Clone)]
pub(super) struct VerifiedIdToken {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
}

/// What the token must say.
#[derive(Debug, Clone, Copy)]
pub(super) struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    /// Seconds since the Unix epoch.
    pub now: i64,
}

pub(super) fn json_part(part: &str) -> Result<Map<String, Value>, IdTokenError> {
    let bytes = b64url_decode(part).ok_or(IdTokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| IdTokenError::Malformed)
}

pub(super) fn verify_signature(token: &str, jwks: &Value) -> Result<VerifiedIdToken, IdTokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(IdTokenError::Malformed);
    };
    let header = json_part(header)?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !ALLOWED_ALGS.contains(&alg) {
        return Err(IdTokenError::AlgNotAllowed(alg.to_owned()));
    }
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or(IdTokenError::NoKid)?;
    let key = jwks
        .get("keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .find(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
        .ok_or_else(|| IdTokenError::UnknownKid(kid.to_owned()))?;
    // Checks that the key fits the header's alg (type, curve, and the key's own alg and use),
    // then the signature.
    let (_, payload) = verify_with_jwk(token, key, &ALLOWED_ALGS).map_err(|e| match e {
        VerifyError::Signature => IdTokenError::Signature,
        VerifyError::Malformed => IdTokenError::Malformed,
        _ => IdTokenError::BadKey(kid.to_owned()),
    })?;
    let claims = serde_json::from_slice(&payload).map_err(|_| IdTokenError::Malformed)?;
    Ok(VerifiedIdToken { header, claims })
}

fn check_claims(claims: &Map<String, Value>, expected: Expected<'_>) -> Result<(), IdTokenError> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let number = |name: &str| claims.get(name).and_then(Value::as_i64);
    let iss = text("iss").unwrap_or_default();
    if iss != expected.issuer {
        return Err(IdTokenError::Issuer(iss.to_owned()));
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(aud)) => vec![aud.as_str()],
        Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&expected.client_id) {
        return Err(IdTokenError::Audience);
    }
    match text("azp") {
        Some(azp) if azp != expected.client_id => return Err(IdTokenError::AuthorizedParty),
        None if audiences.len() > 1 => return Err(IdTokenError::AuthorizedParty),
        _ => {}
    }
    match number("exp") {
        Some(exp) if exp + SKEW_SECS > expected.now => {}
        _ => return Err(IdTokenError::Expired),
    }
    match number("iat") {
        Some(iat) if iat <= expected.now + SKEW_SECS => {}
        _ => return Err(IdTokenError::IssuedInFuture),
    }
    if text("nonce") != Some(expected.nonce) {
        return Err(IdTokenError::Nonce);
    }
    if text("sub").is_none_or(str::is_empty) {
        return Err(IdTokenError::NoSubject);
    }
    Ok(())
}

/// Verifies `token` against the broker's `jwks` and the expected claims.
pub(super) fn verify_id_token(
    token: &str,
    jwks: &Value,
    expected: Expected<'_>,
) -> Result<VerifiedIdToken, IdTokenError> {
    let verified = verify_signature(token, jwks)?;
    check_claims(&verified.claims, expected)?;
    Ok(verified)
}

#[cfg(test)]
mod tests;
