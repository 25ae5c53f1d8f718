//! What the demo peers and the test beds built on them need of JOSE, on the process's one
//! cryptography library (aws-lc-rs, through jsonwebtoken for verification):
//!
//! - [`KeyPair`]: a fresh signing key of one of the broker's algorithms, its public JWK, and
//!   compact JWS signatures made with it exactly as given (a test must be able to sign a
//!   header or payload that a JWT library would refuse to write);
//! - [`verify_with_jwk`]: a compact JWS checked against one public JWK, as a relying party
//!   does with the key its `kid` names;
//! - [`install_crypto_provider`]: aws-lc-rs as the process's rustls provider, which every
//!   HTTPS client here needs before it is built.

use aws_lc_rs::hmac;
use broker::crypto::ProviderError;
use broker::jose::key_fits;
use broker::keys::Signer;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};
use trust_framework::SigningAlg;

use crate::util::{b64url, b64url_decode};

/// Installs aws-lc-rs as the process's provider for TLS and JOSE, as the broker does
/// (`broker::crypto::install_provider`). Idempotent.
pub fn install_crypto_provider() -> Result<(), ProviderError> {
    broker::crypto::install_provider()
}

/// A reqwest client builder with the process's TLS provider installed first, so that `build`
/// cannot fail for want of one.
pub fn http_client_builder() -> Result<reqwest::ClientBuilder, ProviderError> {
    install_crypto_provider()?;
    Ok(reqwest::Client::builder())
}

/// A signing key of one of the broker's algorithms (`ES256`, `PS256`, `RS256`, `EdDSA`): the
/// broker's own key material (`broker::keys::Signer`), with what a test bed adds.
#[derive(Debug)]
pub struct KeyPair(Signer);

/// A key could not be made or could not sign.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(String);

impl KeyPair {
    /// A fresh key for `alg` (RSA: 2048 bits).
    pub fn generate(alg: &str) -> Result<Self, KeyError> {
        let alg: SigningAlg = alg
            .parse()
            .map_err(|_| KeyError(format!("no key type for {alg}")))?;
        Signer::generate(alg).map(Self).map_err(KeyError)
    }

    pub fn alg(&self) -> &'static str {
        self.0.alg().name()
    }

    /// The public JWK: `kty` and the key's public members, then `use` `sig` and `alg`.
    pub fn public_jwk(&self) -> Map<String, Value> {
        let mut jwk = self.0.public_jwk().unwrap_or_default();
        jwk.insert("use".into(), "sig".into());
        jwk.insert("alg".into(), self.alg().into());
        jwk
    }

    /// The private scalar `d` of an EC key (for a provider that wrongly publishes it).
    pub fn ec_private_scalar(&self) -> Option<String> {
        self.0.ec_private_scalar().map(b64url)
    }

    /// The signature of `input` with this key's algorithm.
    pub fn sign(&self, input: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.0.sign(input).map_err(|e| KeyError(e.to_string()))
    }

    /// A compact JWS of `payload` under `header`, both signed as given.
    pub fn sign_jws(&self, header: &Value, payload: &[u8]) -> Result<String, KeyError> {
        self.0
            .sign_jws(header, payload)
            .map_err(|e| KeyError(e.to_string()))
    }
}

/// A compact JWS of `payload` under `header`, with an HMAC-SHA256 signature keyed by
/// `secret`: what a provider that signs with the client secret sends.
pub fn hs256_jws(header: &Value, payload: &[u8], secret: &[u8]) -> String {
    let input = format!("{}.{}", b64url(header.to_string()), b64url(payload));
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), input.as_bytes());
    format!("{input}.{}", b64url(tag.as_ref()))
}

/// Why a JWS did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    #[error("the token is not a compact JWS")]
    Malformed,
    #[error("the algorithm {0:?} is not allowed")]
    AlgNotAllowed(String),
    #[error("the key cannot verify a token of this algorithm")]
    BadKey,
    #[error("the signature does not verify")]
    Signature,
}

/// The header of a compact JWS as a JSON object, unverified (to route: its `alg`, its `kid`).
pub fn unverified_header(token: &str) -> Result<Map<String, Value>, VerifyError> {
    let header = token.split('.').next().ok_or(VerifyError::Malformed)?;
    let bytes = b64url_decode(header).ok_or(VerifyError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| VerifyError::Malformed)
}

/// Verifies the compact JWS `token` with the public key `jwk`, if its header's `alg` is one
/// of `allowed` (asymmetric algorithms only: HMAC and `none` are never accepted, whatever
/// `allowed` says). The key must fit the algorithm (type and curve), and its `alg` and `use`,
/// when present, must allow it. Returns the header and the payload bytes.
pub fn verify_with_jwk(
    token: &str,
    jwk: &Map<String, Value>,
    allowed: &[&str],
) -> Result<(Map<String, Value>, Vec<u8>), VerifyError> {
    let mut parts = token.split('.');
    let (Some(_), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed);
    };
    let header = unverified_header(token)?;
    let name = header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let alg: Algorithm = match name.parse() {
        Ok(
            alg @ (Algorithm::ES256
            | Algorithm::ES384
            | Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512
            | Algorithm::EdDSA),
        ) if allowed.contains(&name) => alg,
        _ => return Err(VerifyError::AlgNotAllowed(name.to_owned())),
    };
    let jwk: Jwk =
        serde_json::from_value(Value::Object(jwk.clone())).map_err(|_| VerifyError::BadKey)?;
    if !key_fits(&jwk, alg) {
        return Err(VerifyError::BadKey);
    }
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| VerifyError::BadKey)?;
    let message = &token[..token.len() - signature.len() - 1];
    match jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key, alg) {
        Ok(true) => {}
        _ => return Err(VerifyError::Signature),
    }
    let payload = b64url_decode(payload).ok_or(VerifyError::Malformed)?;
    Ok((header, payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_algorithm_signs_and_verifies_with_its_public_jwk_only() {
        for alg in ["ES256", "RS256", "PS256", "EdDSA"] {
            let key = KeyPair::generate(alg).unwrap();
            let token = key
                .sign_jws(&json!({ "alg": alg, "kid": "k" }), b"{\"sub\":\"x\"}")
                .unwrap();
            let (header, payload) = verify_with_jwk(&token, &key.public_jwk(), &[alg]).unwrap();
            assert_eq!(header["kid"], "k");
            assert_eq!(payload, b"{\"sub\":\"x\"}");
            let other = KeyPair::generate(alg).unwrap();
            assert_eq!(
                verify_with_jwk(&token, &other.public_jwk(), &[alg]),
                Err(VerifyError::Signature)
            );
            assert!(matches!(
                verify_with_jwk(&token, &key.public_jwk(), &["ES384"]),
                Err(VerifyError::AlgNotAllowed(_))
            ));
        }
    }

    #[test]
    fn hmac_none_and_misfit_keys_are_refused() {
        let key = KeyPair::generate("ES256").unwrap();
        let hs = hs256_jws(&json!({ "alg": "HS256" }), b"{}", b"secret");
        let all = ["ES256", "HS256", "none"];
        assert!(matches!(
            verify_with_jwk(&hs, &key.public_jwk(), &all),
            Err(VerifyError::AlgNotAllowed(_))
        ));
        let none = format!("{}.{}.", b64url(r#"{"alg":"none"}"#), b64url("{}"));
        assert!(matches!(
            verify_with_jwk(&none, &key.public_jwk(), &all),
            Err(VerifyError::AlgNotAllowed(_))
        ));
        let token = key.sign_jws(&json!({ "alg": "ES256" }), b"{}").unwrap();
        let mut enc = key.public_jwk();
        enc.insert("use".into(), "enc".into());
        assert_eq!(
            verify_with_jwk(&token, &enc, &all),
            Err(VerifyError::BadKey)
        );
        let rsa = KeyPair::generate("RS256").unwrap();
        assert_eq!(
            verify_with_jwk(&token, &rsa.public_jwk(), &all),
            Err(VerifyError::BadKey)
        );
        assert!(key.ec_private_scalar().is_some_and(|d| d.len() == 43));
    }
}
