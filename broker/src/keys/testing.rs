//! Keys for the broker's own tests that sign tokens as a provider or a service would: the
//! broker's key material, with the public JWK such a party publishes.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::{KeyError, Signer};

#[derive(Debug)]
pub(crate) struct TestKey(Signer);

impl TestKey {
    /// A fresh key for `alg` (`ES256`, `PS256`, `RS256` or `EdDSA`).
    pub(crate) fn generate(alg: &str) -> Result<Self, String> {
        Signer::generate(alg.parse().map_err(|_| format!("no key type for {alg}"))?).map(Self)
    }

    /// Its public JWK, with `use` `sig` and its `alg`.
    pub(crate) fn public_jwk(&self) -> Map<String, Value> {
        let mut jwk = self.0.public_jwk().unwrap_or_default();
        jwk.insert("use".into(), "sig".into());
        jwk.insert("alg".into(), self.0.alg().name().into());
        jwk
    }

    /// A compact JWS of `payload` under `header`, both as given.
    pub(crate) fn sign_jws(&self, header: &Value, payload: &[u8]) -> Result<String, KeyError> {
        self.0.sign_jws(header, payload)
    }
}

/// A compact JWS with an HMAC-SHA256 signature keyed by `secret`: what a provider that signs
/// with the client secret sends.
pub(crate) fn hs256_jws(header: &Value, payload: &[u8], secret: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}
