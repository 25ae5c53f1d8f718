//! RFC 7523 client assertions: a JWT the relying party signs with its own private key.
//!
//! Invariants, each checked here and tested below:
//! - the algorithm is on an allow-list (FAPI 2.0: PS256, ES256, EdDSA); never `none` or HMAC;
//! - the signature verifies with a key the relying party registered;
//! - `iss` and `sub` are both the client id; `aud` is this broker's issuer identifier, as a
//!   single string and nothing else (FAPI 2.0 section 5.3.2.1 and the OpenID Foundation's 2025
//!   advisory on audience injection: an assertion made for another server's token endpoint, or
//!   listing several audiences, could be replayed here or from here);
//! - `exp` is present and near: an assertion lives at most five minutes, so a stolen one is
//!   useless soon, and the replay cache (keyed by `jti`) only has to remember that long.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::Jwk;
use serde_json::{Map, Value};

use crate::jose::{self, HeaderError};

/// Clock difference tolerated between the relying party and the broker.
pub const SKEW: i64 = 30;
/// The longest an assertion may live, from its `iat` (or from now) to its `exp`.
pub const MAX_LIFETIME: i64 = 300;
/// Assertions above this size are refused before any decoding.
pub const MAX_LEN: usize = 8 * 1024;
/// FAPI 2.0 security profile section 5.4.
pub const ALLOWED_ALGS: [&str; 3] = ["PS256", "ES256", "EdDSA"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AssertionError {
    #[error("the assertion is not a compact JWS")]
    Malformed,
    #[error("the assertion is larger than {MAX_LEN} bytes")]
    TooLarge,
    #[error("the algorithm {0:?} is not allowed (PS256, ES256, EdDSA)")]
    Algorithm(String),
    #[error("no registered key of the client verifies the signature")]
    Signature,
    #[error("the client's keys are unavailable: {0}")]
    Keys(String),
    #[error("{0} is missing")]
    Missing(&'static str),
    #[error("iss and sub must both be the client id")]
    Subject,
    #[error("aud must be this broker's issuer identifier, as a single string")]
    Audience,
    #[error("the assertion has expired")]
    Expired,
    #[error("the assertion is not valid yet")]
    NotYetValid,
    #[error("the assertion lives longer than {MAX_LIFETIME} seconds")]
    Lifetime,
}

/// What a verified, accepted assertion leaves behind: enough to block its replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub jti: String,
    pub exp: i64,
    /// How long the replay cache must remember the `jti`.
    pub remaining: Duration,
}

/// The client the assertion claims to come from, read before verification only to find the
/// keys to verify it with; nothing else of an unverified assertion is used.
pub fn unverified_client_id(assertion: &str) -> Result<String, AssertionError> {
    let claims = unverified_payload(assertion)?;
    let text = |name| claims.get(name).and_then(Value::as_str);
    match (text("iss"), text("sub")) {
        (Some(iss), Some(sub)) if iss == sub && !iss.is_empty() => Ok(iss.to_owned()),
        (None, _) => Err(AssertionError::Missing("iss")),
        (_, None) => Err(AssertionError::Missing("sub")),
        _ => Err(AssertionError::Subject),
    }
}

fn unverified_payload(assertion: &str) -> Result<Map<String, Value>, AssertionError> {
    if assertion.len() > MAX_LEN {
        return Err(AssertionError::TooLarge);
    }
    let mut parts = assertion.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AssertionError::Malformed);
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| AssertionError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| AssertionError::Malformed)
}

/// Verifies the signature with the client's JWKS and returns the claims. The header's `alg`
/// must be allowed and match the key; a `kid`, when given, selects the key.
pub fn verify_signature(
    assertion: &str,
    jwks: &Value,
) -> Result<Map<String, Value>, AssertionError> {
    if assertion.len() > MAX_LEN {
        return Err(AssertionError::TooLarge);
    }
    let header = jose::header(assertion).map_err(|e| match e {
        HeaderError::UnknownAlg(alg) => AssertionError::Algorithm(alg),
        HeaderError::Malformed => AssertionError::Malformed,
    })?;
    let alg = match header.alg {
        Algorithm::PS256 | Algorithm::ES256 | Algorithm::EdDSA => header.alg,
        other => return Err(AssertionError::Algorithm(jose::name(other))),
    };
    let kid = header.kid.as_deref();
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| AssertionError::Keys("the JWKS has no keys".into()))?;
    for key in keys {
        if kid.is_some_and(|kid| key.get("kid").and_then(Value::as_str) != Some(kid)) {
            continue;
        }
        // A key's `use` and `alg`, when present, must allow the algorithm (`key_fits`).
        let Ok(jwk) = serde_json::from_value::<Jwk>(key.clone()) else {
            continue;
        };
        if jose::verifies_with(assertion, &jwk, alg) {
            return unverified_payload(assertion);
        }
    }
    Err(AssertionError::Signature)
}

/// The claim checks of RFC 7523 section 3 on verified claims, with `now` passed in.
pub fn check_claims(
    claims: &Map<String, Value>,
    client_id: &str,
    issuer: &str,
    now: i64,
) -> Result<Accepted, AssertionError> {
    let text = |name| claims.get(name).and_then(Value::as_str);
    let number = |name| claims.get(name).and_then(Value::as_i64);
    if text("iss") != Some(client_id) || text("sub") != Some(client_id) {
        return Err(AssertionError::Subject);
    }
    match claims.get("aud") {
        Some(Value::String(a)) if a == issuer => {}
        None => return Err(AssertionError::Missing("aud")),
        Some(_) => return Err(AssertionError::Audience),
    }
    let exp = number("exp").ok_or(AssertionError::Missing("exp"))?;
    if exp + SKEW <= now {
        return Err(AssertionError::Expired);
    }
    if let Some(nbf) = number("nbf")
        && nbf > now + SKEW
    {
        return Err(AssertionError::NotYetValid);
    }
    let start = match number("iat") {
        Some(iat) if iat > now + SKEW => return Err(AssertionError::NotYetValid),
        Some(iat) => iat,
        None => now,
    };
    if exp - start > MAX_LIFETIME || exp - now > MAX_LIFETIME + SKEW {
        return Err(AssertionError::Lifetime);
    }
    let jti = text("jti")
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or(AssertionError::Missing("jti"))?;
    let remaining = u64::try_from(exp + SKEW - now).unwrap_or(1).max(1);
    Ok(Accepted {
        jti: jti.to_owned(),
        exp,
        remaining: Duration::from_secs(remaining),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn good() -> Value {
        json!({"iss": "c", "sub": "c", "aud": "https://b", "exp": NOW + 60, "iat": NOW, "jti": "j1"})
    }

    fn check(v: Value) -> Result<Accepted, AssertionError> {
        check_claims(&claims(v), "c", "https://b", NOW)
    }

    fn with(key: &str, value: Value) -> Value {
        let mut v = good();
        v[key] = value;
        v
    }

    #[test]
    fn accepts_a_well_formed_assertion() {
        let a = check(good()).unwrap();
        assert_eq!(a.jti, "j1");
        assert_eq!(a.remaining, Duration::from_secs(90));
        // Audience injection: the token endpoint, or a list naming the broker among others.
        assert_eq!(
            check(with("aud", json!("https://b/token"))),
            Err(AssertionError::Audience)
        );
        assert_eq!(
            check(with("aud", json!(["https://b"]))),
            Err(AssertionError::Audience)
        );
        assert_eq!(
            check(with("aud", json!(["https://b", "https://other"]))),
            Err(AssertionError::Audience)
        );
    }

    #[test]
    fn refuses_wrong_subject_audience_and_times() {
        assert_eq!(check(with("sub", json!("d"))), Err(AssertionError::Subject));
        assert_eq!(check(with("iss", json!("d"))), Err(AssertionError::Subject));
        assert_eq!(
            check(with("aud", json!("https://other"))),
            Err(AssertionError::Audience)
        );
        assert_eq!(
            check(with("aud", json!(["https://b/par/x"]))),
            Err(AssertionError::Audience)
        );
        assert_eq!(
            check(with("exp", json!(NOW - SKEW))),
            Err(AssertionError::Expired)
        );
        assert_eq!(
            check(with("exp", json!(NOW + 3600))),
            Err(AssertionError::Lifetime)
        );
        assert_eq!(
            check(with("iat", json!(NOW + 120))),
            Err(AssertionError::NotYetValid)
        );
        assert_eq!(
            check(with("nbf", json!(NOW + 120))),
            Err(AssertionError::NotYetValid)
        );
        assert_eq!(
            check(with("iat", json!(NOW - 400)).tap_exp(NOW + 10)),
            Err(AssertionError::Lifetime)
        );
        let mut v = good();
        v.as_object_mut().unwrap().remove("jti");
        assert_eq!(check(v), Err(AssertionError::Missing("jti")));
        let mut v = good();
        v.as_object_mut().unwrap().remove("exp");
        assert_eq!(check(v), Err(AssertionError::Missing("exp")));
        assert_eq!(
            check(with("jti", json!("x".repeat(300)))),
            Err(AssertionError::Missing("jti"))
        );
    }

    trait TapExp {
        fn tap_exp(self, exp: i64) -> Value;
    }
    impl TapExp for Value {
        fn tap_exp(mut self, exp: i64) -> Value {
            self["exp"] = json!(exp);
            self
        }
    }

    fn sign(alg: &str, kid: &str, claims: &Value) -> (String, Value) {
        let key = crate::keys::testing::TestKey::generate(alg).unwrap();
        let token = key
            .sign_jws(
                &json!({ "alg": alg, "kid": kid }),
                claims.to_string().as_bytes(),
            )
            .unwrap();
        let mut public = key.public_jwk();
        public.insert("kid".into(), kid.into());
        (token, json!({"keys": [Value::Object(public)]}))
    }

    #[test]
    fn signatures_verify_with_the_registered_key_only() {
        for alg in ["ES256", "PS256", "EdDSA"] {
            let (token, jwks) = sign(alg, "k1", &good());
            assert_eq!(verify_signature(&token, &jwks).unwrap()["jti"], "j1");
            let (_, other) = sign(alg, "k1", &good());
            assert_eq!(
                verify_signature(&token, &other),
                Err(AssertionError::Signature)
            );
            // A kid that is not registered selects no key.
            let (token, _) = sign(alg, "k2", &good());
            assert_eq!(
                verify_signature(&token, &jwks),
                Err(AssertionError::Signature)
            );
        }
        assert_eq!(
            unverified_client_id(&sign("ES256", "k", &good()).0).unwrap(),
            "c"
        );
    }

    #[test]
    fn algorithms_outside_the_allow_list_are_refused() {
        let (token, jwks) = sign("RS256", "k1", &good());
        assert_eq!(
            verify_signature(&token, &jwks),
            Err(AssertionError::Algorithm("RS256".into()))
        );
        // alg none: header {"alg":"none"}, empty signature.
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(good().to_string())
        );
        assert_eq!(
            verify_signature(&none, &jwks),
            Err(AssertionError::Algorithm("none".into()))
        );
        let hs = format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256"}"#),
            URL_SAFE_NO_PAD.encode(good().to_string())
        );
        assert_eq!(
            verify_signature(&hs, &jwks),
            Err(AssertionError::Algorithm("HS256".into()))
        );
    }

    #[test]
    fn garbage_is_refused_cleanly() {
        for junk in [
            "",
            "a",
            "a.b",
            "a.b.c.d",
            "!!.??.**",
            &"a".repeat(MAX_LEN + 1),
        ] {
            assert!(unverified_client_id(junk).is_err(), "{junk}");
            assert!(
                verify_signature(junk, &json!({"keys": []})).is_err(),
                "{junk}"
            );
        }
        let no_iss = format!("e30.{}.e30", URL_SAFE_NO_PAD.encode(br#"{"sub":"c"}"#));
        assert_eq!(
            unverified_client_id(&no_iss),
            Err(AssertionError::Missing("iss"))
        );
    }
}
