//! The broker's signing keys and its JWKS.
//!
//! One signing key per algorithm, each with a kid (its RFC 7638 thumbprint). Keys come from
//! files (PEM or JWK) in production; only the demo generates them at start. The JWKS is built
//! from the public halves alone, so a private member can never be published by mistake.
//!
//! Rotation (see [`rotation`]): beside each signing key the JWKS publishes the *next* key,
//! which signs nothing until the next rotation, and *retired* keys, until every token they
//! signed has expired. So a relying party holding any JWKS fetched since the previous rotation
//! can verify every token, and one holding an older one finds the kid unknown and refetches.

pub mod keyring;
pub mod rotation;

pub use keyring::KeyRing;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::Jwk;
use josekit::jws::{ES256, EdDSA, JwsHeader, JwsSigner, PS256, RS256};
use josekit::jwt::JwtPayload;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use trust_framework::SigningAlg;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    #[error("cannot read key file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write key file {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("key file {path} is not a usable {alg} private key: {reason}")]
    Invalid {
        path: String,
        alg: SigningAlg,
        reason: String,
    },
    #[error("no signing key is configured for {0}")]
    Missing(SigningAlg),
    #[error("signing failed: {0}")]
    Sign(String),
    #[error("key rotation failed at {path}: {source}")]
    Rotate {
        path: String,
        source: std::io::Error,
    },
}

#[derive(Clone)]
pub(crate) struct SigningKey {
    kid: String,
    signer: std::sync::Arc<dyn JwsSigner>,
    /// The same key in ring, for ES256 and EdDSA: it signs in a fraction of the time OpenSSL 3
    /// takes through josekit, on the hot path of every login. RSA stays with OpenSSL.
    fast: Option<std::sync::Arc<FastSigner>>,
    public: Map<String, Value>,
}

enum FastSigner {
    Es256(::ring::signature::EcdsaKeyPair),
    Ed25519(::ring::signature::Ed25519KeyPair),
}

impl FastSigner {
    /// From the JWK's members (`d`, `x`, `y`); `None` if ring does not take them (then josekit
    /// signs, as before).
    fn new(alg: SigningAlg, jwk: &Jwk) -> Option<Self> {
        use ::ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
        let member = |m: &str| {
            jwk.parameter(m)
                .and_then(Value::as_str)
                .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
        };
        match alg {
            SigningAlg::ES256 => {
                let public = [&[4u8][..], &member("x")?, &member("y")?].concat();
                EcdsaKeyPair::from_private_key_and_public_key(
                    &ECDSA_P256_SHA256_FIXED_SIGNING,
                    &member("d")?,
                    &public,
                    &::ring::rand::SystemRandom::new(),
                )
                .ok()
                .map(Self::Es256)
            }
            SigningAlg::EdDSA => {
                Ed25519KeyPair::from_seed_and_public_key(&member("d")?, &member("x")?)
                    .ok()
                    .map(Self::Ed25519)
            }
            _ => None,
        }
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        match self {
            Self::Es256(k) => k
                .sign(&::ring::rand::SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError::Sign("ECDSA signing failed".into())),
            Self::Ed25519(k) => Ok(k.sign(message).as_ref().to_vec()),
        }
    }
}

/// The keys the broker signs ID tokens with, one per algorithm, and the keys it publishes
/// without signing: the next ones and the retired ones.
pub struct KeySet {
    keys: BTreeMap<&'static str, SigningKey>,
    next: BTreeMap<&'static str, SigningKey>,
    /// Public JWKs of retired keys with the unix time until which they stay published.
    retired: Vec<(i64, Map<String, Value>)>,
    /// The configured files, when the keys came from files (and rotate there).
    files: Option<BTreeMap<SigningAlg, std::path::PathBuf>>,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<(&str, &str)> = self
            .keys
            .iter()
            .map(|(a, k)| (*a, k.kid.as_str()))
            .collect();
        let next: Vec<&str> = self.next.values().map(|k| k.kid.as_str()).collect();
        f.debug_struct("KeySet")
            .field("kids", &kids)
            .field("next", &next)
            .field("retired", &self.retired.len())
            .finish_non_exhaustive()
    }
}

impl KeySet {
    /// Fresh keys for every algorithm. Demo and tests only: real deployments load files so that
    /// relying parties can cache the JWKS across restarts.
    pub fn generate() -> Result<Self, KeyError> {
        let (current, next) = std::thread::scope(|s| {
            let next = s.spawn(generate_pems);
            (generate_pems(), next.join())
        });
        let next = next.map_err(|_| KeyError::Sign("key generation panicked".into()))??;
        let mut keys = BTreeMap::new();
        for (alg, pem) in current? {
            keys.insert(alg.name(), SigningKey::from_pem(alg, &pem, "(generated)")?);
        }
        let mut upcoming = BTreeMap::new();
        for (alg, pem) in next {
            upcoming.insert(alg.name(), SigningKey::from_pem(alg, &pem, "(generated)")?);
        }
        Ok(Self {
            keys,
            next: upcoming,
            retired: Vec::new(),
            files: None,
        })
    }

    /// Writes a fresh PEM private key per algorithm into `dir` (`es256.pem`, ...) and the next
    /// key beside each (`es256.next.pem`), readable by the owner only, and returns the files
    /// for the `[keys]` section of the configuration.
    pub fn generate_files(
        dir: &Path,
    ) -> Result<BTreeMap<SigningAlg, std::path::PathBuf>, KeyError> {
        let mut files = BTreeMap::new();
        for ((alg, pem), (_, next)) in generate_pems()?.into_iter().zip(generate_pems()?) {
            let path = dir.join(format!("{}.pem", alg.name().to_lowercase()));
            let next_path = rotation::next_path(&path);
            for (p, contents) in [(&path, &pem), (&next_path, &next)] {
                write_private(p, contents).map_err(|source| KeyError::Write {
                    path: p.display().to_string(),
                    source,
                })?;
            }
            files.insert(alg, path);
        }
        Ok(files)
    }

    /// Loads keys from files: each a PEM private key or a private JWK (JSON), with the next
    /// and retired keys found beside it (see [`rotation`]).
    pub fn load(files: &BTreeMap<SigningAlg, std::path::PathBuf>) -> Result<Self, KeyError> {
        Self::load_at(files, time::OffsetDateTime::now_utc().unix_timestamp())
    }

    pub fn load_at(
        files: &BTreeMap<SigningAlg, std::path::PathBuf>,
        now: i64,
    ) -> Result<Self, KeyError> {
        let mut keys = BTreeMap::new();
        let mut next = BTreeMap::new();
        let mut retired = Vec::new();
        for (alg, path) in files {
            keys.insert(alg.name(), SigningKey::from_file(*alg, path)?);
            let next_path = rotation::next_path(path);
            if next_path.exists() {
                next.insert(alg.name(), SigningKey::from_file(*alg, &next_path)?);
            }
            for (until, old) in rotation::retired_files(path)? {
                if until > now {
                    retired.push((until, SigningKey::from_file(*alg, &old)?.public));
                }
            }
        }
        if !keys.contains_key(SigningAlg::ES256.name()) {
            return Err(KeyError::Missing(SigningAlg::ES256));
        }
        Ok(Self {
            keys,
            next,
            retired,
            files: Some(files.clone()),
        })
    }

    /// The kids in force: (algorithm, signing kid, next kid).
    pub fn kids(&self) -> Vec<(&'static str, String, Option<String>)> {
        self.keys
            .iter()
            .map(|(alg, k)| {
                (
                    *alg,
                    k.kid.clone(),
                    self.next.get(alg).map(|n| n.kid.clone()),
                )
            })
            .collect()
    }

    pub fn algorithms(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.keys.keys().copied()
    }

    pub fn supports(&self, alg: SigningAlg) -> bool {
        self.keys.contains_key(alg.name())
    }

    /// The public JWKS document: signing keys, then next keys, then retired keys still in
    /// their publication window at `now`.
    pub fn jwks_at(&self, now: i64) -> Value {
        let keys: Vec<Value> = self
            .keys
            .values()
            .chain(self.next.values())
            .map(|k| Value::Object(k.public.clone()))
            .chain(
                self.retired
                    .iter()
                    .filter(|(until, _)| *until > now)
                    .map(|(_, public)| Value::Object(public.clone())),
            )
            .collect();
        serde_json::json!({ "keys": keys })
    }

    pub fn jwks(&self) -> Value {
        self.jwks_at(time::OffsetDateTime::now_utc().unix_timestamp())
    }

    /// Signs a JWT with the key for `alg`.
    pub fn sign(&self, alg: SigningAlg, claims: Map<String, Value>) -> Result<String, KeyError> {
        let key = self.keys.get(alg.name()).ok_or(KeyError::Missing(alg))?;
        if let Some(fast) = &key.fast {
            let header = serde_json::json!({ "alg": alg.name(), "typ": "JWT", "kid": key.kid });
            let payload = serde_json::to_vec(&claims).map_err(|e| KeyError::Sign(e.to_string()))?;
            let mut jws = URL_SAFE_NO_PAD.encode(header.to_string());
            jws.push('.');
            jws.push_str(&URL_SAFE_NO_PAD.encode(payload));
            let signature = fast.sign(jws.as_bytes())?;
            jws.push('.');
            jws.push_str(&URL_SAFE_NO_PAD.encode(signature));
            return Ok(jws);
        }
        let mut header = JwsHeader::new();
        header.set_token_type("JWT");
        header.set_key_id(&key.kid);
        let payload = JwtPayload::from_map(claims).map_err(|e| KeyError::Sign(e.to_string()))?;
        josekit::jwt::encode_with_signer(&payload, &header, key.signer.as_ref())
            .map_err(|e| KeyError::Sign(e.to_string()))
    }
}

impl SigningKey {
    pub(crate) fn from_file(alg: SigningAlg, path: &Path) -> Result<Self, KeyError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| KeyError::Read {
            path: shown.clone(),
            source,
        })?;
        if bytes.trim_ascii_start().starts_with(b"{") {
            let jwk = Jwk::from_bytes(&bytes).map_err(|e| KeyError::Invalid {
                path: shown.clone(),
                alg,
                reason: e.to_string(),
            })?;
            Self::from_jwk(alg, jwk, &shown)
        } else {
            Self::from_pem(alg, &bytes, &shown)
        }
    }

    pub(crate) fn from_pem(alg: SigningAlg, pem: &[u8], shown: &str) -> Result<Self, KeyError> {
        let jwk = match alg {
            SigningAlg::ES256 => ES256.key_pair_from_pem(pem).map(|k| k.to_jwk_key_pair()),
            SigningAlg::PS256 => PS256.key_pair_from_pem(pem).map(|k| k.to_jwk_key_pair()),
            SigningAlg::RS256 => RS256.key_pair_from_pem(pem).map(|k| k.to_jwk_key_pair()),
            SigningAlg::EdDSA => EdDSA.key_pair_from_pem(pem).map(|k| k.to_jwk_key_pair()),
        }
        .map_err(|e| KeyError::Invalid {
            path: shown.to_owned(),
            alg,
            reason: e.to_string(),
        })?;
        Self::from_jwk(alg, jwk, shown)
    }

    fn from_jwk(alg: SigningAlg, jwk: Jwk, path: &str) -> Result<Self, KeyError> {
        let invalid = |reason: String| KeyError::Invalid {
            path: path.to_owned(),
            alg,
            reason,
        };
        let signer: std::sync::Arc<dyn JwsSigner> = match alg {
            SigningAlg::ES256 => std::sync::Arc::new(
                ES256
                    .signer_from_jwk(&jwk)
                    .map_err(|e| invalid(e.to_string()))?,
            ),
            SigningAlg::PS256 => std::sync::Arc::new(
                PS256
                    .signer_from_jwk(&jwk)
                    .map_err(|e| invalid(e.to_string()))?,
            ),
            SigningAlg::RS256 => std::sync::Arc::new(
                RS256
                    .signer_from_jwk(&jwk)
                    .map_err(|e| invalid(e.to_string()))?,
            ),
            SigningAlg::EdDSA => std::sync::Arc::new(
                EdDSA
                    .signer_from_jwk(&jwk)
                    .map_err(|e| invalid(e.to_string()))?,
            ),
        };
        let public = public_members(&jwk)
            .ok_or_else(|| invalid(format!("unexpected key type {:?}", jwk.key_type())))?;
        let kid = thumbprint(&public);
        let mut public = public;
        public.insert("kid".into(), Value::from(kid.clone()));
        public.insert("use".into(), Value::from("sig"));
        public.insert("alg".into(), Value::from(alg.name()));
        Ok(Self {
            kid,
            signer,
            fast: FastSigner::new(alg, &jwk).map(std::sync::Arc::new),
            public,
        })
    }
}

/// One fresh private key per algorithm, as PEM.
pub(crate) fn generate_pems() -> Result<[(SigningAlg, Vec<u8>); 4], KeyError> {
    Ok([
        (SigningAlg::ES256, generate_pem(SigningAlg::ES256)?),
        (SigningAlg::PS256, generate_pem(SigningAlg::PS256)?),
        (SigningAlg::RS256, generate_pem(SigningAlg::RS256)?),
        (SigningAlg::EdDSA, generate_pem(SigningAlg::EdDSA)?),
    ])
}

/// A fresh private key for `alg`, as PEM (RSA: 2048 bits).
pub(crate) fn generate_pem(alg: SigningAlg) -> Result<Vec<u8>, KeyError> {
    let err = |e: josekit::JoseError| KeyError::Invalid {
        path: "(generated)".into(),
        alg,
        reason: e.to_string(),
    };
    Ok(match alg {
        SigningAlg::ES256 => ES256.generate_key_pair().map_err(err)?.to_pem_private_key(),
        SigningAlg::PS256 => PS256
            .generate_key_pair(2048)
            .map_err(err)?
            .to_pem_private_key(),
        SigningAlg::RS256 => RS256
            .generate_key_pair(2048)
            .map_err(err)?
            .to_pem_private_key(),
        SigningAlg::EdDSA => EdDSA
            .generate_key_pair(josekit::jwk::alg::ed::EdCurve::Ed25519)
            .map_err(err)?
            .to_pem_private_key(),
    })
}

pub(crate) fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents)
}

/// Keeps only the public members of a key: an allow-list, not a deny-list, so that no private
/// member (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`, `k`) can slip through.
fn public_members(jwk: &Jwk) -> Option<Map<String, Value>> {
    let members: &[&str] = match jwk.key_type() {
        "EC" => &["kty", "crv", "x", "y"],
        "RSA" => &["kty", "n", "e"],
        "OKP" => &["kty", "crv", "x"],
        _ => return None,
    };
    let mut public = Map::new();
    for m in members {
        public.insert((*m).to_owned(), jwk.parameter(m)?.clone());
    }
    Some(public)
}

/// RFC 7638 JWK thumbprint: SHA-256 over the required members in lexicographic order.
fn thumbprint(public: &Map<String, Value>) -> String {
    // serde_json's Map is ordered (BTreeMap) without the preserve_order feature.
    let canonical = serde_json::to_string(public).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use josekit::jws::JwsVerifier;

    fn verify(keys: &KeySet, alg: SigningAlg, token: &str) -> Map<String, Value> {
        let jwks = keys.jwks();
        let header = josekit::jwt::decode_header(token).unwrap();
        let kid = header.claim("kid").unwrap().as_str().unwrap().to_owned();
        let jwk = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid.as_str())
            .unwrap();
        let jwk = Jwk::from_map(jwk.as_object().unwrap().clone()).unwrap();
        let verifier: Box<dyn JwsVerifier> = match alg {
            SigningAlg::ES256 => Box::new(ES256.verifier_from_jwk(&jwk).unwrap()),
            SigningAlg::PS256 => Box::new(PS256.verifier_from_jwk(&jwk).unwrap()),
            SigningAlg::RS256 => Box::new(RS256.verifier_from_jwk(&jwk).unwrap()),
            SigningAlg::EdDSA => Box::new(EdDSA.verifier_from_jwk(&jwk).unwrap()),
        };
        let (payload, _) = josekit::jwt::decode_with_verifier(token, verifier.as_ref()).unwrap();
        payload.claims_set().clone()
    }

    #[test]
    fn signs_with_every_algorithm_and_verifies_against_the_jwks() {
        let keys = KeySet::generate().unwrap();
        for alg in SigningAlg::ALL {
            let mut claims = Map::new();
            claims.insert("sub".into(), Value::from("x"));
            let token = keys.sign(alg, claims).unwrap();
            let header = josekit::jwt::decode_header(&token).unwrap();
            assert_eq!(header.claim("alg"), Some(&Value::from(alg.name())));
            assert_eq!(verify(&keys, alg, &token)["sub"], "x");
        }
    }

    #[test]
    fn es256_and_eddsa_sign_with_ring_and_verify_with_openssl() {
        let keys = KeySet::generate().unwrap();
        for alg in [SigningAlg::ES256, SigningAlg::EdDSA] {
            assert!(
                keys.keys[alg.name()].fast.is_some(),
                "{alg} has no ring signer"
            );
            let mut claims = Map::new();
            claims.insert("nonce".into(), Value::from("n\"é"));
            let token = keys.sign(alg, claims).unwrap();
            let header = josekit::jwt::decode_header(&token).unwrap();
            assert_eq!(header.claim("typ"), Some(&Value::from("JWT")));
            assert_eq!(verify(&keys, alg, &token)["nonce"], "n\"é");
        }
        assert!(keys.keys[SigningAlg::RS256.name()].fast.is_none());
    }

    /// Relying parties cache kids: a key file must keep its kid across versions. The Ed25519
    /// key is RFC 8037's example (appendix A.3); its RFC 7638 thumbprint would be
    /// `kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k`, but the kid hashes the members in the
    /// order `kty`, `crv`, `x` (see `thumbprint`).
    #[test]
    fn a_fixed_key_file_keeps_its_kid() {
        let dir = tempfile::TempDir::new().unwrap();
        let ec = r#"{"kty":"EC","crv":"P-256","x":"dxeFm-ajOJK3Qc4x6_PEopLhBT1NjEZBn_g1_RkVJK8","y":"i2ncim7Gzq0fTRXoRX9AdEsJqM_avOuqp3wUbp9kvPE","d":"yZEw9OHrRanK8nQJpCMWfIB-psjx6wN36qjzrlpeVhw"}"#;
        let ed = r#"{"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
        std::fs::write(dir.path().join("es256.jwk"), ec).unwrap();
        std::fs::write(dir.path().join("eddsa.jwk"), ed).unwrap();
        let files = BTreeMap::from([
            (SigningAlg::ES256, dir.path().join("es256.jwk")),
            (SigningAlg::EdDSA, dir.path().join("eddsa.jwk")),
        ]);
        let keys = KeySet::load_at(&files, 0).unwrap();
        let kids: Vec<(&str, String)> = keys.kids().into_iter().map(|(a, k, _)| (a, k)).collect();
        assert_eq!(
            kids,
            [
                (
                    "ES256",
                    "hb55_1sR9yOu5hSKmnRf_Dc-ezyFIn75AV37dpv5A2c".to_owned()
                ),
                (
                    "EdDSA",
                    "IKq5ZlNYvHPaf8arDAZMx0h9jMMRxFloUa3M5i2x8eE".to_owned()
                ),
            ]
        );
    }

    /// The traditional PEM forms (SEC1, PKCS#1) and RSA private JWKs load too, with the same
    /// kids as the same keys in other forms.
    #[test]
    fn traditional_pem_and_rsa_jwk_files_keep_their_kids() {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/keys/testdata");
        let files = BTreeMap::from([
            (SigningAlg::ES256, data.join("es256-sec1.pem")),
            (SigningAlg::RS256, data.join("rsa-pkcs1.pem")),
            (SigningAlg::PS256, data.join("rsa.jwk")),
        ]);
        let keys = KeySet::load_at(&files, 0).unwrap();
        let kids: Vec<(&str, String)> = keys.kids().into_iter().map(|(a, k, _)| (a, k)).collect();
        assert_eq!(
            kids,
            [
                (
                    "ES256",
                    "hb55_1sR9yOu5hSKmnRf_Dc-ezyFIn75AV37dpv5A2c".to_owned()
                ),
                (
                    "PS256",
                    "c8e7sZPgGErqtKwvvJk_RsQTuiQdfgRxZFpE7yjSGF8".to_owned()
                ),
                (
                    "RS256",
                    "c8e7sZPgGErqtKwvvJk_RsQTuiQdfgRxZFpE7yjSGF8".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn the_jwks_has_public_members_only_and_unique_kids() {
        let keys = KeySet::generate().unwrap();
        let jwks = keys.jwks();
        let list = jwks["keys"].as_array().unwrap();
        assert_eq!(list.len(), 8, "four signing keys and four next keys");
        let mut kids = std::collections::HashSet::new();
        for k in list {
            for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
                assert!(k.get(private).is_none(), "{private} published in {k}");
            }
            assert!(kids.insert(k["kid"].as_str().unwrap().to_owned()));
            assert_eq!(k["use"], "sig");
        }
    }

    #[test]
    fn generated_files_load_back_and_are_never_overwritten() {
        let dir = std::env::temp_dir().join(format!("broker-keygen-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = KeySet::generate_files(&dir).unwrap();
        let keys = KeySet::load(&files).unwrap();
        assert!(SigningAlg::ALL.iter().all(|a| keys.supports(*a)));
        assert!(
            KeySet::generate_files(&dir).is_err(),
            "existing keys must not be replaced"
        );
    }

    #[test]
    fn loads_pem_and_jwk_files_and_rejects_garbage() {
        let dir = std::env::temp_dir().join(format!("broker-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pem = ES256.generate_key_pair().unwrap().to_pem_private_key();
        std::fs::write(dir.join("es256.pem"), &pem).unwrap();
        let jwk = EdDSA
            .generate_key_pair(josekit::jwk::alg::ed::EdCurve::Ed25519)
            .unwrap()
            .to_jwk_key_pair();
        std::fs::write(dir.join("eddsa.jwk"), jwk.to_string()).unwrap();
        std::fs::write(dir.join("bad.pem"), "-----BEGIN NONSENSE-----").unwrap();
        let files = BTreeMap::from([
            (SigningAlg::ES256, dir.join("es256.pem")),
            (SigningAlg::EdDSA, dir.join("eddsa.jwk")),
        ]);
        let keys = KeySet::load(&files).unwrap();
        assert!(keys.supports(SigningAlg::EdDSA) && !keys.supports(SigningAlg::PS256));
        let bad = BTreeMap::from([(SigningAlg::ES256, dir.join("bad.pem"))]);
        assert!(matches!(KeySet::load(&bad), Err(KeyError::Invalid { .. })));
        let only_ed = BTreeMap::from([(SigningAlg::EdDSA, dir.join("eddsa.jwk"))]);
        assert!(matches!(
            KeySet::load(&only_ed),
            Err(KeyError::Missing(SigningAlg::ES256))
        ));
        assert!(matches!(
            KeySet::sign(&keys, SigningAlg::RS256, Map::new()),
            Err(KeyError::Missing(_))
        ));
    }
}
