//! A provider's ID token, validated as OpenID Connect Core 3.1.3.7 requires of a client, without
//! I/O: the signature against the provider's key set (`super::signature`, with jsonwebtoken),
//! then the claims against what the broker expects at `now`.
//!
//! The claim checks are written out here rather than left to jsonwebtoken's `Validation`: they
//! read the payload once, as the JSON the broker releases from, and they are stricter than a
//! generic JWT validation: an `aud` naming anyone but the broker is refused, `iat` is bounded
//! both ways, the nonce is compared in constant time, and every required claim must have its
//! type.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use super::signature::{self, ProviderKeys, SignatureVerificationError};
use super::{MAX_IAT_AGE, MAX_IAT_SKEW};

/// What a provider's ID token must say to be accepted.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The provider's registered issuer, compared byte for byte.
    pub issuer: &'a str,
    /// The broker's client id at the provider: the one audience allowed.
    pub client_id: &'a str,
    /// The nonce sent with this login's authorization request.
    pub nonce: &'a str,
    pub now: time::OffsetDateTime,
}

/// A verified ID token: its subject, and every claim of its payload.
#[derive(Debug, Clone)]
pub struct VerifiedIdToken {
    pub subject: String,
    pub claims: Map<String, Value>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdTokenError {
    /// `NoMatchingKey` inside says that no key of the set could have signed it: the caller may
    /// fetch the key set again once.
    #[error("signature: {0}")]
    Signature(#[from] SignatureVerificationError),
    #[error("the payload is not {0}")]
    Payload(&'static str),
    #[error("the required claim {0} is missing or not of its type")]
    Missing(&'static str),
    #[error("issuer {found:?} is not the provider's {expected:?}")]
    Issuer { found: String, expected: String },
    #[error("the audience {found} is not this broker's client id alone")]
    Audience { found: Value },
    #[error("azp {found} is not this broker's client id")]
    AuthorizedParty { found: Value },
    #[error("the token expired at {exp}")]
    Expired { exp: i64 },
    #[error("issued in the future (iat {iat})")]
    IssuedInFuture { iat: i64 },
    #[error("issued too long ago (iat {iat})")]
    IssuedTooLongAgo { iat: i64 },
    #[error("the nonce is not the one this login sent")]
    Nonce,
}

impl IdTokenError {
    /// Whether no key of the provider's set could have signed the token.
    pub fn is_no_matching_key(&self) -> bool {
        matches!(
            self,
            Self::Signature(SignatureVerificationError::NoMatchingKey)
        )
    }
}

/// Verifies the compact JWS `jwt` with a key of `keys` (one of [`signature::ALGS`]), then its
/// claims: `iss` equal to the provider's issuer; `aud` the broker's client id, alone (a string
/// or a one-element array); `azp`, when present, the broker's client id; `exp` after `now`;
/// `iat` at most [`MAX_IAT_SKEW`] ahead of `now` and [`MAX_IAT_AGE`] behind it; `nonce` the
/// login's (compared in constant time); `sub` a non-empty string.
pub fn verify(
    jwt: &str,
    keys: &ProviderKeys,
    expected: &Expected<'_>,
) -> Result<VerifiedIdToken, IdTokenError> {
    signature::verify(jwt, keys)?;
    // The signature is verified: the payload is the provider's word from here on.
    let claims = payload(jwt)?;
    let subject = check(&claims, expected)?;
    Ok(VerifiedIdToken { subject, claims })
}

/// The payload of a compact JWS, as a JSON object.
pub(crate) fn payload(jwt: &str) -> Result<Map<String, Value>, IdTokenError> {
    let part = jwt
        .split('.')
        .nth(1)
        .ok_or(IdTokenError::Payload("a JWS part"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| IdTokenError::Payload("base64url"))?;
    serde_json::from_slice(&bytes).map_err(|_| IdTokenError::Payload("a JSON object"))
}

/// The claim checks of [`verify`], on a payload whose signature was verified. Returns `sub`.
fn check(claims: &Map<String, Value>, expected: &Expected<'_>) -> Result<String, IdTokenError> {
    let text = |name: &'static str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .ok_or(IdTokenError::Missing(name))
    };
    let time = |name: &'static str| {
        claims
            .get(name)
            .and_then(numeric_date)
            .ok_or(IdTokenError::Missing(name))
    };
    let issuer = text("iss")?;
    if issuer != expected.issuer {
        return Err(IdTokenError::Issuer {
            found: issuer.to_owned(),
            expected: expected.issuer.to_owned(),
        });
    }
    only_audience(claims, expected.client_id)?;
    if let Some(azp) = claims.get("azp")
        && azp.as_str() != Some(expected.client_id)
    {
        return Err(IdTokenError::AuthorizedParty { found: azp.clone() });
    }
    let now = expected.now.unix_timestamp();
    let exp = time("exp")?;
    if exp <= now {
        return Err(IdTokenError::Expired { exp });
    }
    let iat = time("iat")?;
    if iat > now.saturating_add(seconds(MAX_IAT_SKEW)) {
        return Err(IdTokenError::IssuedInFuture { iat });
    }
    if iat < now.saturating_sub(seconds(MAX_IAT_AGE)) {
        return Err(IdTokenError::IssuedTooLongAgo { iat });
    }
    let nonce = text("nonce").map_err(|_| IdTokenError::Nonce)?;
    if !bool::from(nonce.as_bytes().ct_eq(expected.nonce.as_bytes())) {
        return Err(IdTokenError::Nonce);
    }
    let subject = text("sub")?;
    if subject.is_empty() {
        return Err(IdTokenError::Missing("sub"));
    }
    Ok(subject.to_owned())
}

/// `aud` names `client_id` alone: a string, or a one-element array. A token made for several
/// audiences could be replayed at the others.
pub(crate) fn only_audience(
    claims: &Map<String, Value>,
    client_id: &str,
) -> Result<(), IdTokenError> {
    let audience = claims.get("aud").ok_or(IdTokenError::Missing("aud"))?;
    let ours = |a: &Value| a.as_str() == Some(client_id);
    let only_ours = match audience {
        Value::String(_) => ours(audience),
        Value::Array(list) => matches!(list.as_slice(), [one] if ours(one)),
        _ => false,
    };
    if only_ours {
        Ok(())
    } else {
        Err(IdTokenError::Audience {
            found: audience.clone(),
        })
    }
}

/// A JWT NumericDate (RFC 7519 2): seconds since the epoch, possibly with a fraction, which is
/// dropped.
pub(crate) fn numeric_date(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.is_finite() && f.abs() < 1e15)
            .map(|f| f.trunc() as i64)
    })
}

fn seconds(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
