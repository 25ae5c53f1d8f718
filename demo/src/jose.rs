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

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256,
    RSA_PSS_SHA256, RsaKeyPair, RsaPublicKeyComponents,
};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};

use crate::util::{b64url, b64url_decode};

/// Installs aws-lc-rs as rustls' process-wide provider, which reqwest (built without a
/// provider of its own) takes its TLS from, and checks that jsonwebtoken has its provider
/// (aws-lc-rs, chosen by its crate feature). Idempotent. No other provider is linked in, so
/// the one installed is aws-lc-rs.
pub fn install_crypto_provider() -> Result<(), ProviderError> {
    // Err only when a provider is installed already.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    if rustls::crypto::CryptoProvider::get_default().is_none()
        || jsonwebtoken::crypto::CryptoProvider::try_get_default().is_none()
    {
        return Err(ProviderError);
    }
    Ok(())
}

/// No cryptography provider could be installed.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("no cryptography provider is installed for TLS and JOSE")]
pub struct ProviderError;

/// A reqwest client builder with the process's TLS provider installed first, so that `build`
/// cannot fail for want of one.
pub fn http_client_builder() -> Result<reqwest::ClientBuilder, ProviderError> {
    install_crypto_provider()?;
    Ok(reqwest::Client::builder())
}

/// A signing key of one of the broker's algorithms (`ES256`, `PS256`, `RS256`, `EdDSA`).
#[derive(Debug)]
pub struct KeyPair {
    alg: &'static str,
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A key could not be made or could not sign.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(String);

impl KeyPair {
    /// A fresh key for `alg` (RSA: 2048 bits).
    pub fn generate(alg: &str) -> Result<Self, KeyError> {
        let failed = |_| KeyError(format!("cannot generate a {alg} key"));
        let (alg, inner) = match alg {
            "ES256" => (
                "ES256",
                Inner::Ec(
                    EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(failed)?,
                ),
            ),
            "RS256" | "PS256" => (
                if alg == "RS256" { "RS256" } else { "PS256" },
                Inner::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).map_err(failed)?),
            ),
            "EdDSA" => (
                "EdDSA",
                Inner::Ed(Ed25519KeyPair::generate().map_err(failed)?),
            ),
            other => return Err(KeyError(format!("no key type for {other}"))),
        };
        Ok(Self { alg, inner })
    }

    /// The same key for another algorithm of its type (an RSA key for PS256 and RS256).
    pub fn with_alg(self, alg: &'static str) -> Self {
        Self { alg, ..self }
    }

    pub fn alg(&self) -> &'static str {
        self.alg
    }

    /// The public JWK: `kty` and the key's public members, then `use` `sig` and `alg`.
    pub fn public_jwk(&self) -> Map<String, Value> {
        let mut jwk = Map::new();
        match &self.inner {
            Inner::Ec(k) => {
                let point = k.public_key().as_ref();
                jwk.insert("kty".into(), "EC".into());
                jwk.insert("crv".into(), "P-256".into());
                jwk.insert(
                    "x".into(),
                    b64url(point.get(1..33).unwrap_or_default()).into(),
                );
                jwk.insert(
                    "y".into(),
                    b64url(point.get(33..65).unwrap_or_default()).into(),
                );
            }
            Inner::Rsa(k) => {
                let components = RsaPublicKeyComponents::<Vec<u8>>::from(k.public_key());
                jwk.insert("kty".into(), "RSA".into());
                jwk.insert("n".into(), b64url(&components.n).into());
                jwk.insert("e".into(), b64url(&components.e).into());
            }
            Inner::Ed(k) => {
                jwk.insert("kty".into(), "OKP".into());
                jwk.insert("crv".into(), "Ed25519".into());
                jwk.insert("x".into(), b64url(k.public_key().as_ref()).into());
            }
        }
        jwk.insert("use".into(), "sig".into());
        jwk.insert("alg".into(), self.alg.into());
        jwk
    }

    /// The private scalar `d` of an EC key (for a provider that wrongly publishes it).
    pub fn ec_private_scalar(&self) -> Option<String> {
        use aws_lc_rs::encoding::{AsBigEndian, EcPrivateKeyBin};
        match &self.inner {
            Inner::Ec(k) => {
                let d: EcPrivateKeyBin<'static> = k.private_key().as_be_bytes().ok()?;
                Some(b64url(d.as_ref()))
            }
            _ => None,
        }
    }

    /// The private key as unencrypted PKCS#8 DER.
    pub fn pkcs8_der(&self) -> Result<Vec<u8>, KeyError> {
        let failed = |_| KeyError("cannot encode the key".into());
        Ok(match &self.inner {
            Inner::Ec(k) => k.to_pkcs8v1().map_err(failed)?.as_ref().to_vec(),
            Inner::Rsa(k) => AsDer::<Pkcs8V1Der<'static>>::as_der(k)
                .map_err(failed)?
                .as_ref()
                .to_vec(),
            Inner::Ed(k) => k.to_pkcs8v1().map_err(failed)?.as_ref().to_vec(),
        })
    }

    /// The signature of `input` with this key's algorithm.
    pub fn sign(&self, input: &[u8]) -> Result<Vec<u8>, KeyError> {
        let failed = |_| KeyError("the signature could not be made".into());
        match &self.inner {
            Inner::Ec(k) => Ok(k
                .sign(&SystemRandom::new(), input)
                .map_err(failed)?
                .as_ref()
                .to_vec()),
            Inner::Rsa(k) => {
                let padding = if self.alg == "PS256" {
                    &RSA_PSS_SHA256
                } else {
                    &RSA_PKCS1_SHA256
                };
                let mut signature = vec![0; k.public_modulus_len()];
                k.sign(padding, &SystemRandom::new(), input, &mut signature)
                    .map_err(failed)?;
                Ok(signature)
            }
            Inner::Ed(k) => Ok(k.sign(input).as_ref().to_vec()),
        }
    }

    /// A compact JWS of `payload` under `header`, both signed as given.
    pub fn sign_jws(&self, header: &Value, payload: &[u8]) -> Result<String, KeyError> {
        let input = format!("{}.{}", b64url(header.to_string()), b64url(payload));
        let signature = self.sign(input.as_bytes())?;
        Ok(format!("{input}.{}", b64url(signature)))
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

/// Whether `jwk` may verify `alg`: its type and curve, and its `alg` and `use` if it names
/// them.
pub fn key_fits(jwk: &Jwk, alg: Algorithm) -> bool {
    let named_alg = jwk
        .common
        .key_algorithm
        .is_none_or(|a| a == jsonwebtoken::jwk::KeyAlgorithm::from(alg));
    let usage = jwk
        .common
        .public_key_use
        .as_ref()
        .is_none_or(|u| *u == PublicKeyUse::Signature);
    let kind = match (&jwk.algorithm, alg) {
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
    named_alg && usage && kind
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
