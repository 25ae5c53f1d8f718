//! Private key material, with aws-lc-rs: parsing (PEM in PKCS#8, SEC1 or PKCS#1 form; private
//! JWKs of type EC, OKP and RSA), generation, and signing.
//!
//! aws-lc-rs checks every key it is given (an EC point on its curve and matching its scalar,
//! an Ed25519 public key matching its seed, the RSA components consistent with one another)
//! before a key is accepted, so an inconsistent file is refused at load, never at the first
//! signature.

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPairComponents, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256,
    RSA_PSS_SHA256, RsaKeyPair, RsaPublicKeyComponents,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;
use serde_json::{Map, Value};
use trust_framework::SigningAlg;

use super::KeyError;

/// By algorithm only: nothing of the key is printed.
impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Signer").field(&self.alg().name()).finish()
    }
}

/// One key pair, parsed once, for the one algorithm it signs with. Public for the demo's test
/// bed, which signs with the same code the broker does.
pub enum Signer {
    Es256(EcdsaKeyPair),
    /// PS256 or RS256: the same RSA key type, another padding.
    Rsa(SigningAlg, RsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl Signer {
    /// The algorithm this key signs with.
    pub fn alg(&self) -> SigningAlg {
        match self {
            Self::Es256(_) => SigningAlg::ES256,
            Self::Rsa(alg, _) => *alg,
            Self::Ed25519(_) => SigningAlg::EdDSA,
        }
    }

    /// A compact JWS of `payload` under `header`, both exactly as given (no claim or header
    /// is added or checked): what a test bed needs to sign what a JWT library would refuse.
    pub fn sign_jws(&self, header: &Value, payload: &[u8]) -> Result<String, KeyError> {
        let mut jws = URL_SAFE_NO_PAD.encode(header.to_string());
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut jws);
        let signature = self.sign(jws.as_bytes())?;
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut jws);
        Ok(jws)
    }

    /// The private scalar of an ES256 key, big-endian: for a test provider that wrongly
    /// publishes it. `None` for other keys.
    pub fn ec_private_scalar(&self) -> Option<Vec<u8>> {
        use aws_lc_rs::encoding::{AsBigEndian, EcPrivateKeyBin};
        match self {
            Self::Es256(k) => {
                let d: EcPrivateKeyBin<'static> = k.private_key().as_be_bytes().ok()?;
                Some(d.as_ref().to_vec())
            }
            _ => None,
        }
    }

    /// A fresh key for `alg` (RSA: 2048 bits).
    pub fn generate(alg: SigningAlg) -> Result<Self, String> {
        let failed = |_| format!("cannot generate a {alg} key");
        Ok(match alg {
            SigningAlg::ES256 => Self::Es256(
                EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(failed)?,
            ),
            SigningAlg::PS256 | SigningAlg::RS256 => {
                Self::Rsa(alg, RsaKeyPair::generate(KeySize::Rsa2048).map_err(failed)?)
            }
            SigningAlg::EdDSA => Self::Ed25519(Ed25519KeyPair::generate().map_err(failed)?),
        })
    }

    /// The private key as an unencrypted PKCS#8 PEM document (`PRIVATE KEY`).
    pub(crate) fn to_pem(&self) -> Result<Vec<u8>, String> {
        let failed = |_| "cannot encode the key as PKCS#8".to_owned();
        let der = match self {
            Self::Es256(k) => k.to_pkcs8v1().map_err(failed)?.as_ref().to_vec(),
            Self::Rsa(_, k) => AsDer::<Pkcs8V1Der<'static>>::as_der(k)
                .map_err(failed)?
                .as_ref()
                .to_vec(),
            Self::Ed25519(k) => k.to_pkcs8v1().map_err(failed)?.as_ref().to_vec(),
        };
        Ok(pem("PRIVATE KEY", &der))
    }

    /// A PEM private key: PKCS#8 (`PRIVATE KEY`) for every algorithm, and the traditional
    /// forms, SEC1 (`EC PRIVATE KEY`) for ES256 and PKCS#1 (`RSA PRIVATE KEY`) for RSA.
    pub(crate) fn from_pem(alg: SigningAlg, pem: &[u8]) -> Result<Self, String> {
        let der = PrivateKeyDer::from_pem_slice(pem)
            .map_err(|e| format!("not a PEM private key: {e}"))?;
        let rejected = |e: aws_lc_rs::error::KeyRejected| format!("the key is refused: {e}");
        Ok(match (alg, &der) {
            (SigningAlg::ES256, PrivateKeyDer::Pkcs8(_) | PrivateKeyDer::Sec1(_)) => Self::Es256(
                EcdsaKeyPair::from_private_key_der(
                    &ECDSA_P256_SHA256_FIXED_SIGNING,
                    der.secret_der(),
                )
                .map_err(rejected)?,
            ),
            (SigningAlg::PS256 | SigningAlg::RS256, PrivateKeyDer::Pkcs8(k)) => Self::Rsa(
                alg,
                RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()).map_err(rejected)?,
            ),
            (SigningAlg::PS256 | SigningAlg::RS256, PrivateKeyDer::Pkcs1(k)) => Self::Rsa(
                alg,
                RsaKeyPair::from_der(k.secret_pkcs1_der()).map_err(rejected)?,
            ),
            (SigningAlg::EdDSA, PrivateKeyDer::Pkcs8(k)) => {
                Self::Ed25519(Ed25519KeyPair::from_pkcs8(k.secret_pkcs8_der()).map_err(rejected)?)
            }
            (_, other) => {
                let form = match other {
                    PrivateKeyDer::Pkcs1(_) => "an RSA (PKCS#1)",
                    PrivateKeyDer::Sec1(_) => "an EC (SEC1)",
                    _ => "this PKCS#8",
                };
                return Err(format!("{form} private key is not a {alg} key"));
            }
        })
    }

    /// A private JWK (RFC 7517, 7518 6, 8037 2): `EC` on P-256 for ES256, `OKP` Ed25519 for
    /// EdDSA, `RSA` with every CRT member for PS256 and RS256. A key whose `alg` or `use` names
    /// another purpose is refused, as is a multi-prime RSA key (`oth`).
    pub(crate) fn from_jwk(alg: SigningAlg, jwk: &Map<String, Value>) -> Result<Self, String> {
        let text = |m: &str| jwk.get(m).and_then(Value::as_str);
        let bytes = |m: &str| -> Result<Vec<u8>, String> {
            let v = text(m).ok_or_else(|| format!("the member {m} is missing"))?;
            URL_SAFE_NO_PAD
                .decode(v)
                .map_err(|_| format!("the member {m} is not base64url"))
        };
        if let Some(named) = jwk.get("alg")
            && named.as_str() != Some(alg.name())
        {
            return Err(format!("the JWK is for alg {named}, not {alg}"));
        }
        if let Some(usage) = jwk.get("use")
            && usage.as_str() != Some("sig")
        {
            return Err(format!("the JWK is for use {usage}, not sig"));
        }
        let rejected = |e: aws_lc_rs::error::KeyRejected| format!("the key is refused: {e}");
        let kty = text("kty").unwrap_or_default();
        Ok(match (alg, kty) {
            (SigningAlg::ES256, "EC") => {
                if text("crv") != Some("P-256") {
                    return Err("an ES256 key must be on the curve P-256".into());
                }
                let (x, y) = (bytes("x")?, bytes("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err("x and y must be 32 bytes each".into());
                }
                let point = [&[4u8][..], &x, &y].concat();
                Self::Es256(
                    EcdsaKeyPair::from_private_key_and_public_key(
                        &ECDSA_P256_SHA256_FIXED_SIGNING,
                        &bytes("d")?,
                        &point,
                    )
                    .map_err(rejected)?,
                )
            }
            (SigningAlg::EdDSA, "OKP") => {
                if text("crv") != Some("Ed25519") {
                    return Err("an EdDSA key must be on the curve Ed25519".into());
                }
                Self::Ed25519(
                    Ed25519KeyPair::from_seed_and_public_key(&bytes("d")?, &bytes("x")?)
                        .map_err(rejected)?,
                )
            }
            (SigningAlg::PS256 | SigningAlg::RS256, "RSA") => {
                if jwk.contains_key("oth") {
                    return Err("multi-prime RSA keys (oth) are not supported".into());
                }
                let components = KeyPairComponents {
                    public_key: PublicKeyComponents {
                        n: bytes("n")?,
                        e: bytes("e")?,
                    },
                    d: bytes("d")?,
                    p: bytes("p")?,
                    q: bytes("q")?,
                    dP: bytes("dp")?,
                    dQ: bytes("dq")?,
                    qInv: bytes("qi")?,
                };
                Self::Rsa(
                    alg,
                    RsaKeyPair::from_components(&components).map_err(rejected)?,
                )
            }
            (_, kty) => return Err(format!("a JWK of type {kty:?} is not a {alg} key")),
        })
    }

    /// The public members of the key's JWK (RFC 7638 3.2 lists them): nothing else, so no
    /// private member can be published.
    pub fn public_jwk(&self) -> Result<Map<String, Value>, String> {
        let b64 = |b: &[u8]| Value::from(URL_SAFE_NO_PAD.encode(b));
        let mut public = Map::new();
        match self {
            Self::Es256(k) => {
                let point = k.public_key().as_ref();
                let (Some(x), Some(y)) = (point.get(1..33), point.get(33..65)) else {
                    return Err("unexpected P-256 public key encoding".into());
                };
                if point.len() != 65 || point.first() != Some(&4) {
                    return Err("unexpected P-256 public key encoding".into());
                }
                public.insert("kty".into(), "EC".into());
                public.insert("crv".into(), "P-256".into());
                public.insert("x".into(), b64(x));
                public.insert("y".into(), b64(y));
            }
            Self::Rsa(_, k) => {
                let components = RsaPublicKeyComponents::<Vec<u8>>::from(k.public_key());
                public.insert("kty".into(), "RSA".into());
                public.insert("n".into(), b64(&components.n));
                public.insert("e".into(), b64(&components.e));
            }
            Self::Ed25519(k) => {
                public.insert("kty".into(), "OKP".into());
                public.insert("crv".into(), "Ed25519".into());
                public.insert("x".into(), b64(k.public_key().as_ref()));
            }
        }
        Ok(public)
    }

    /// The JWS signature of `message` (RFC 7518 3: ECDSA as the fixed-width `r || s`).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let failed = |_| KeyError::Sign("the signature could not be made".into());
        match self {
            Self::Es256(k) => Ok(k
                .sign(&SystemRandom::new(), message)
                .map_err(failed)?
                .as_ref()
                .to_vec()),
            Self::Rsa(alg, k) => {
                let padding = match alg {
                    SigningAlg::PS256 => &RSA_PSS_SHA256,
                    _ => &RSA_PKCS1_SHA256,
                };
                let mut signature = vec![0; k.public_modulus_len()];
                k.sign(padding, &SystemRandom::new(), message, &mut signature)
                    .map_err(failed)?;
                Ok(signature)
            }
            Self::Ed25519(k) => Ok(k.sign(message).as_ref().to_vec()),
        }
    }
}

/// A fresh private key for `alg`, as PKCS#8 PEM (RSA: 2048 bits).
pub(crate) fn generate_pem(alg: SigningAlg) -> Result<Vec<u8>, KeyError> {
    let invalid = |reason: String| KeyError::Invalid {
        path: "(generated)".into(),
        alg,
        reason,
    };
    Signer::generate(alg)
        .and_then(|s| s.to_pem())
        .map_err(invalid)
}

/// RFC 7468 text encoding: base64 in lines of 64 characters between the labels.
fn pem(label: &str, der: &[u8]) -> Vec<u8> {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out.into_bytes()
}

/// A fresh Ed25519 key as a PKCS#8 document: the transparency log's key held in memory (the
/// demo).
pub fn generate_ed25519_pkcs8() -> Result<zeroize::Zeroizing<Vec<u8>>, String> {
    let key =
        Ed25519KeyPair::generate().map_err(|_| "cannot generate an Ed25519 key".to_owned())?;
    let der = key
        .to_pkcs8v1()
        .map_err(|_| "cannot encode the key as PKCS#8".to_owned())?;
    Ok(zeroize::Zeroizing::new(der.as_ref().to_vec()))
}

/// The PKCS#8 document of an Ed25519 private key in a PEM file (the transparency log's key),
/// checked to load as one.
pub fn ed25519_pkcs8(pem: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>, String> {
    let der =
        PrivateKeyDer::from_pem_slice(pem).map_err(|e| format!("not a PEM private key: {e}"))?;
    let PrivateKeyDer::Pkcs8(der) = der else {
        return Err("an Ed25519 key must be PKCS#8 (PRIVATE KEY)".into());
    };
    Ed25519KeyPair::from_pkcs8(der.secret_pkcs8_der())
        .map_err(|e| format!("not an Ed25519 key: {e}"))?;
    Ok(zeroize::Zeroizing::new(der.secret_pkcs8_der().to_vec()))
}
