//! What the broker's three verifiers of other parties' JWS share (providers' ID tokens,
//! relying parties' client assertions, software statements), on jsonwebtoken: the header read
//! to route, and whether a published key may verify a given algorithm at all.
//!
//! Each verifier keeps its own allow-list of algorithms; nothing here accepts `none` or an
//! HMAC algorithm, which no allow-list of the broker names.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, Header};
use serde_json::Value;

/// Why a header was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// An `alg` that is not a JWS signature algorithm jsonwebtoken knows (`none`, say), or no
    /// `alg`: the name, empty when absent.
    #[error("the algorithm {0:?} is not a known JWS signature algorithm")]
    UnknownAlg(String),
    #[error("the header is not a JWS header")]
    Malformed,
}

/// The header of the compact JWS `token`, unverified: to route (its `alg` and `kid`) only.
pub fn header(token: &str) -> Result<Header, HeaderError> {
    jsonwebtoken::decode_header(token).map_err(|_| {
        let alg = token
            .split('.')
            .next()
            .and_then(|h| URL_SAFE_NO_PAD.decode(h).ok())
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .filter(Value::is_object)
            .map(|h| h.get("alg").map(|a| a.as_str().map(str::to_owned)));
        match alg {
            // An object whose alg is absent or a string jsonwebtoken does not know.
            Some(None) => HeaderError::UnknownAlg(String::new()),
            Some(Some(Some(alg))) if alg.parse::<Algorithm>().is_err() => {
                HeaderError::UnknownAlg(alg)
            }
            _ => HeaderError::Malformed,
        }
    })
}

/// The JWS name of `alg` (`ES256`, ...).
pub fn name(alg: Algorithm) -> String {
    format!("{alg:?}")
}

/// Whether `jwk` may verify a signature of `alg`: its key type (and curve) is the algorithm's,
/// and its `use` and `alg`, when it names them, allow it.
pub fn key_fits(jwk: &Jwk, alg: Algorithm) -> bool {
    let common = &jwk.common;
    let use_fits = common
        .public_key_use
        .as_ref()
        .is_none_or(|u| *u == PublicKeyUse::Signature);
    let alg_fits = common
        .key_algorithm
        .is_none_or(|a| a == KeyAlgorithm::from(alg));
    let type_fits = match (&jwk.algorithm, alg) {
        (
            AlgorithmParameters::RSA(_),
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512,
        ) => true,
        (AlgorithmParameters::EllipticCurve(p), Algorithm::ES256) => p.curve == EllipticCurve::P256,
        (AlgorithmParameters::EllipticCurve(p), Algorithm::ES384) => p.curve == EllipticCurve::P384,
        (AlgorithmParameters::OctetKeyPair(p), Algorithm::EdDSA) => {
            p.curve == EllipticCurve::Ed25519
        }
        _ => false,
    };
    use_fits && alg_fits && type_fits
}

/// Whether the compact JWS `token`'s signature verifies with `jwk` under `alg`, which the
/// caller has checked against its allow-list and the header. A key that does not fit `alg`
/// (see [`key_fits`]) or does not parse verifies nothing.
pub fn verifies_with(token: &str, jwk: &Jwk, alg: Algorithm) -> bool {
    let Some((message, signature)) = token.rsplit_once('.') else {
        return false;
    };
    if !key_fits(jwk, alg) {
        return false;
    }
    let Ok(key) = jsonwebtoken::DecodingKey::from_jwk(jwk) else {
        return false;
    };
    jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key, alg).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn unknown_algorithms_are_told_from_malformed_headers() {
        let token = |h: &str| format!("{}.e30.c2ln", b64(h));
        assert_eq!(
            header(&token(r#"{"alg":"none"}"#)),
            Err(HeaderError::UnknownAlg("none".into()))
        );
        assert_eq!(
            header(&token(r#"{"kid":"k"}"#)),
            Err(HeaderError::UnknownAlg(String::new()))
        );
        assert_eq!(header(&token(r#"{"alg":7}"#)), Err(HeaderError::Malformed));
        assert_eq!(header(&token("[]")), Err(HeaderError::Malformed));
        assert_eq!(header("a.b"), Err(HeaderError::Malformed));
        let h = header(&token(r#"{"alg":"HS256","kid":"k"}"#)).unwrap();
        assert_eq!(
            (name(h.alg).as_str(), h.kid.as_deref()),
            ("HS256", Some("k"))
        );
    }
}
