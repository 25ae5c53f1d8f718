//! A `private_key_jwt` client assertion (RFC 7523) through the broker's client authentication:
//! the unverified client id, the signature against a registered JWKS, and the claim checks,
//! with the broker's issuer as the only audience and a fixed clock.
//!
//! Input: `sign:<payload>` signs the payload (any bytes) with a fixed key that the JWKS holds,
//! to reach the claim checks; anything else is `<assertion>\n<JWKS JSON>`.
#![no_main]

use std::sync::OnceLock;

use broker::oidc::client_auth::assertion::{MAX_LIFETIME, SKEW};
use broker_fuzz::{ASSERTION_KEY, FixedKey, NOW, SIGN, split_line};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const ISSUER: &str = "https://broker.example";

fn key() -> &'static (FixedKey, Value) {
    static KEY: OnceLock<(FixedKey, Value)> = OnceLock::new();
    KEY.get_or_init(|| {
        let key = FixedKey::new(ASSERTION_KEY, "fuzz-client");
        let jwks = key.jwks();
        (key, jwks)
    })
}

fuzz_target!(|data: &[u8]| {
    let fuzzed_jwks;
    let (assertion, jwks) = match data.strip_prefix(SIGN) {
        Some(payload) => (key().0.sign(payload), &key().1),
        None => {
            let (assertion, jwks) = split_line(data);
            let (Ok(assertion), Ok(jwks)) = (
                std::str::from_utf8(assertion),
                serde_json::from_slice::<Value>(jwks),
            ) else {
                return;
            };
            fuzzed_jwks = jwks;
            (assertion.to_owned(), &fuzzed_jwks)
        }
    };
    let accepted = broker::fuzzing::client_assertion(jwks, &assertion, ISSUER, NOW);
    broker_fuzz::debug(&accepted);
    let Ok(accepted) = accepted else {
        return;
    };
    let text = |name: &str| accepted.claims.get(name).and_then(Value::as_str);
    assert_eq!(text("iss"), Some(accepted.client_id.as_str()));
    assert_eq!(text("sub"), Some(accepted.client_id.as_str()));
    assert_eq!(accepted.claims.get("aud"), Some(&Value::from(ISSUER)));
    assert!(!accepted.jti.is_empty() && accepted.jti.len() <= 256);
    assert!(accepted.exp + SKEW > NOW && accepted.exp - NOW <= MAX_LIFETIME + SKEW);
    let remaining = accepted.remaining.as_secs();
    assert!(remaining >= 1 && remaining <= (MAX_LIFETIME + 2 * SKEW) as u64);
});
