//! A provider's JWKS and ID token through the broker's upstream verification, with the
//! Alberta demo provider's issuer and client id, a fixed nonce and a fixed clock.
//!
//! Input: `sign:<payload>` signs the payload (any bytes) with a fixed key the JWKS holds, to
//! reach the claim checks; anything else is `<compact JWT>\n<JWKS JSON>`.
#![no_main]

use std::sync::OnceLock;

use broker_fuzz::{FixedKey, SIGN, UPSTREAM_KEY, example_registry, now, split_line};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const NONCE: &str = "fuzz-nonce";

fn key() -> &'static (FixedKey, Vec<u8>) {
    static KEY: OnceLock<(FixedKey, Vec<u8>)> = OnceLock::new();
    KEY.get_or_init(|| {
        let key = FixedKey::new(UPSTREAM_KEY, "fuzz-upstream");
        let jwks = key.jwks().to_string().into_bytes();
        (key, jwks)
    })
}

fuzz_target!(|data: &[u8]| {
    let provider = example_registry()
        .provider("ab-account")
        .expect("the Alberta demo provider");
    let (jwt, jwks) = match data.strip_prefix(SIGN) {
        Some(payload) => (key().0.sign(payload), key().1.as_slice()),
        None => {
            let (jwt, jwks) = split_line(data);
            let Ok(jwt) = std::str::from_utf8(jwt) else {
                return;
            };
            (jwt.to_owned(), jwks)
        }
    };
    let login = broker::fuzzing::upstream_id_token(provider, jwks, &jwt, NONCE, now());
    broker_fuzz::debug(&login);
    let Ok(login) = login else {
        return;
    };
    // What the broker goes on to use (the payload as a JSON map) says what was verified.
    let text = |name: &str| login.claims.get(name).and_then(Value::as_str);
    assert_eq!(
        text("sub"),
        Some(login.subject.as_str()),
        "{:?}",
        login.claims
    );
    assert_eq!(
        text("iss"),
        Some(provider.issuer.as_str()),
        "{:?}",
        login.claims
    );
    assert_eq!(text("nonce"), Some(NONCE), "{:?}", login.claims);
    let audience = match login.claims.get("aud") {
        Some(Value::String(a)) => a == &provider.client_id,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(&provider.client_id)),
        _ => false,
    };
    assert!(audience, "{:?}", login.claims);
});
