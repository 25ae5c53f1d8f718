//! The signature of a provider's ID token, verified with jsonwebtoken (on aws-lc-rs) against
//! the provider's JWKS.
//!
//! The rules: the algorithm must be on [`ALGS`] (never `none`, never HMAC: a provider's token
//! must be verifiable with its published public key and nothing else); a header with `crit`
//! is refused (no extension is understood here); a `kid` in the header selects the key; a
//! key's `use` and `alg`, when present, must fit, and so must its type and curve; RSA keys
//! need 2048 bits at least (aws-lc-rs refuses shorter ones). The claims are checked after this,
//! by `super::validation`.
//!
//! The key set is parsed once per fetch into [`ProviderKeys`]: each usable key with its
//! `DecodingKey`, so a login parses no key. A key that does not parse is left out rather than
//! failing the set, as openidconnect did: a provider may publish keys of kinds the broker does
//! not use (encryption keys, other curves) beside the one that signs.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey};

use crate::jose::{self, HeaderError};
use serde_json::Value;

/// The JWS algorithms accepted on upstream ID tokens.
pub const ALGS: [&str; 6] = ["RS256", "PS256", "PS384", "ES256", "ES384", "EdDSA"];

/// Why a signature was refused. `NoMatchingKey` says that no key of the set could have signed
/// the token, which the caller may answer by fetching the key set again (once); every other
/// refusal is final.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureVerificationError {
    #[error("no matching key found")]
    NoMatchingKey,
    #[error("crypto error: {0}")]
    CryptoError(String),
    #[error("disallowed signature algorithm: {0}")]
    DisallowedAlg(String),
    #[error("no signature found")]
    NoSignature,
    #[error("{0}")]
    Other(String),
}

/// A provider's JWK Set, as the verifier uses it: the keys that can verify a signature at
/// all (RSA, EC, OKP), each with its parsed `DecodingKey`.
#[derive(Debug, Clone, Default)]
pub struct ProviderKeys {
    keys: Vec<ProviderKey>,
}

#[derive(Debug, Clone)]
struct ProviderKey {
    jwk: Jwk,
    key: DecodingKey,
}

impl ProviderKeys {
    /// From a JWK Set document (`{"keys": [...]}`). Only a document that is not a JWK Set is
    /// an error; keys that do not parse are left out.
    pub fn from_json(body: &[u8]) -> Result<Self, serde_json::Error> {
        #[derive(serde::Deserialize)]
        struct Set {
            keys: Vec<Value>,
        }
        let set: Set = serde_json::from_slice(body)?;
        Ok(Self::from_keys(set.keys))
    }

    /// From a JWK Set as JSON (see [`ProviderKeys::from_json`]); no `keys` array, no keys.
    pub fn from_value(jwks: &Value) -> Self {
        let keys = jwks.get("keys").and_then(Value::as_array);
        Self::from_keys(keys.into_iter().flatten().cloned())
    }

    fn from_keys(keys: impl IntoIterator<Item = Value>) -> Self {
        let keys = keys
            .into_iter()
            .filter_map(|k| serde_json::from_value::<Jwk>(k).ok())
            // Never a symmetric key: `oct` members would make an HMAC key.
            .filter(|jwk| {
                matches!(
                    jwk.algorithm,
                    AlgorithmParameters::RSA(_)
                        | AlgorithmParameters::EllipticCurve(_)
                        | AlgorithmParameters::OctetKeyPair(_)
                )
            })
            .filter_map(|jwk| {
                let key = DecodingKey::from_jwk(&jwk).ok()?;
                Some(ProviderKey { jwk, key })
            })
            .collect();
        Self { keys }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Verifies the compact JWS `jwt` with a key of `keys`. `NoMatchingKey` when no key could
/// have signed it (the caller may refetch the JWKS once).
pub fn verify(jwt: &str, keys: &ProviderKeys) -> Result<(), SignatureVerificationError> {
    let mut parts = jwt.split('.');
    let (Some(header), Some(_), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SignatureVerificationError::Other(
            "not a compact JWS".into(),
        ));
    };
    let parsed = jose::header(jwt).map_err(|e| match e {
        HeaderError::UnknownAlg(alg) => disallowed(&alg),
        HeaderError::Malformed if header.is_empty() => {
            SignatureVerificationError::Other("not a compact JWS".into())
        }
        HeaderError::Malformed => {
            SignatureVerificationError::Other("the header is malformed".into())
        }
    })?;
    let alg = allowed(parsed.alg).ok_or_else(|| disallowed(&jose::name(parsed.alg)))?;
    if parsed.crit.is_some() {
        return Err(SignatureVerificationError::Other(
            "the header has crit, and no extension is understood".into(),
        ));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| SignatureVerificationError::Other("not base64url".into()))?;
    if signature.is_empty() {
        return Err(SignatureVerificationError::NoSignature);
    }
    let message = &jwt.as_bytes()[..jwt.len() - sig.len() - 1];
    let kid = parsed.kid.as_deref();
    let mut tried = false;
    for candidate in keys.keys.iter().filter(|k| fits(&k.jwk, kid, alg)) {
        tried = true;
        if jsonwebtoken::crypto::verify(sig, message, &candidate.key, alg).unwrap_or(false) {
            return Ok(());
        }
    }
    if tried {
        Err(SignatureVerificationError::CryptoError(
            "the signature does not verify with the provider's key".into(),
        ))
    } else {
        Err(SignatureVerificationError::NoMatchingKey)
    }
}

/// `alg` if it is on [`ALGS`].
fn allowed(alg: Algorithm) -> Option<Algorithm> {
    match alg {
        Algorithm::RS256
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::ES256
        | Algorithm::ES384
        | Algorithm::EdDSA => Some(alg),
        _ => None,
    }
}

fn disallowed(alg: &str) -> SignatureVerificationError {
    SignatureVerificationError::DisallowedAlg(format!("algorithm {alg:?} is not one of {ALGS:?}"))
}

/// Whether `jwk` could have signed a token of `alg` whose header names `kid`: the same kid
/// (when the header names one), and a key that fits the algorithm (`jose::key_fits`).
fn fits(jwk: &Jwk, kid: Option<&str>, alg: Algorithm) -> bool {
    kid.is_none_or(|kid| jwk.common.key_id.as_deref() == Some(kid)) && jose::key_fits(jwk, alg)
}

#[cfg(test)]
mod tests;
