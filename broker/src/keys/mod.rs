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
//!
//! Keys are held as parsed aws-lc-rs key pairs and a token is assembled here (two base64url
//! parts and a signature): jsonwebtoken's `encode` takes the key as DER bytes and parses it
//! again on every call, which for RSA means a key check per ID token.

pub mod keyring;
mod material;
pub mod rotation;
#[cfg(test)]
pub(crate) mod testing;

pub use keyring::KeyRing;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use trust_framework::SigningAlg;

pub(crate) use material::generate_pem;
pub use material::{Signer, ed25519_pkcs8, generate_ed25519_pkcs8};

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
    /// The protected header, base64url: it names the algorithm and the kid only, so it is
    /// encoded once per key rather than once per token.
    header: Arc<str>,
    signer: Arc<Signer>,
    public: Map<String, Value>,
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
        let generate_all = || -> Result<BTreeMap<&'static str, SigningKey>, KeyError> {
            SigningAlg::ALL
                .into_iter()
                .map(|alg| Ok((alg.name(), SigningKey::generate(alg)?)))
                .collect()
        };
        // Two RSA keys per set take most of the time: the next keys are made meanwhile.
        let (keys, next) = std::thread::scope(|s| {
            let next = s.spawn(generate_all);
            (generate_all(), next.join())
        });
        let next = next.map_err(|_| KeyError::Sign("key generation panicked".into()))??;
        Ok(Self {
            keys: keys?,
            next,
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
        for alg in SigningAlg::ALL {
            let (pem, next) = (generate_pem(alg)?, generate_pem(alg)?);
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

    /// Writes the transparency log's own key, Ed25519, as `log.pem` in `dir` with `log.next.pem`
    /// beside it, readable by the owner only (`[log] key` of the configuration). Never
    /// overwrites a file.
    pub fn generate_log_files(dir: &Path) -> Result<std::path::PathBuf, KeyError> {
        let path = dir.join("log.pem");
        let next_path = rotation::next_path(&path);
        for p in [&path, &next_path] {
            write_private(p, &generate_pem(SigningAlg::EdDSA)?).map_err(|source| {
                KeyError::Write {
                    path: p.display().to_string(),
                    source,
                }
            })?;
        }
        Ok(path)
    }

    /// Loads keys from files: each a PEM private key or a private JWK (JSON), with the next
    /// key found beside it and the retired keys still published at `now` (see [`rotation`]).
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

    /// As [`KeySet::sign`], with the header's `typ` set to `typ` (explicit typing, RFC 8725
    /// 3.11: a logout token cannot then pass for an ID token, nor the reverse).
    pub fn sign_typed(
        &self,
        alg: SigningAlg,
        typ: &str,
        claims: Map<String, Value>,
    ) -> Result<String, KeyError> {
        let key = self.keys.get(alg.name()).ok_or(KeyError::Missing(alg))?;
        let header = serde_json::json!({ "alg": alg.name(), "typ": typ, "kid": key.kid });
        key.sign_under(&URL_SAFE_NO_PAD.encode(header.to_string()), &claims)
    }

    /// Signs a JWT with the key for `alg`: a compact JWS whose header names `alg`, `kid` and
    /// `typ` `JWT`.
    pub fn sign(&self, alg: SigningAlg, claims: Map<String, Value>) -> Result<String, KeyError> {
        let key = self.keys.get(alg.name()).ok_or(KeyError::Missing(alg))?;
        key.sign_under(&key.header, &claims)
    }
}

impl SigningKey {
    /// The compact JWS of `claims` under the encoded protected `header`.
    fn sign_under(&self, header: &str, claims: &Map<String, Value>) -> Result<String, KeyError> {
        let payload = serde_json::to_vec(claims).map_err(|e| KeyError::Sign(e.to_string()))?;
        let mut jws = String::with_capacity(header.len() + payload.len() * 4 / 3 + 400);
        jws.push_str(header);
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut jws);
        let signature = self.signer.sign(jws.as_bytes())?;
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut jws);
        Ok(jws)
    }
}

impl SigningKey {
    pub(crate) fn from_file(alg: SigningAlg, path: &Path) -> Result<Self, KeyError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| KeyError::Read {
            path: shown.clone(),
            source,
        })?;
        let signer = if bytes.trim_ascii_start().starts_with(b"{") {
            serde_json::from_slice::<Map<String, Value>>(&bytes)
                .map_err(|e| format!("not a JWK: {e}"))
                .and_then(|jwk| Signer::from_jwk(alg, &jwk))
        } else {
            Signer::from_pem(alg, &bytes)
        };
        let invalid = |reason: String| KeyError::Invalid {
            path: shown.clone(),
            alg,
            reason,
        };
        Self::new(alg, signer.map_err(invalid)?).map_err(invalid)
    }

    pub(crate) fn generate(alg: SigningAlg) -> Result<Self, KeyError> {
        let invalid = |reason: String| KeyError::Invalid {
            path: "(generated)".into(),
            alg,
            reason,
        };
        Self::new(alg, Signer::generate(alg).map_err(invalid)?).map_err(invalid)
    }

    fn new(alg: SigningAlg, signer: Signer) -> Result<Self, String> {
        let mut public = signer.public_jwk()?;
        let kid = thumbprint(&public);
        let header = serde_json::json!({ "alg": alg.name(), "typ": "JWT", "kid": kid });
        public.insert("kid".into(), Value::from(kid.clone()));
        public.insert("use".into(), Value::from("sig"));
        public.insert("alg".into(), Value::from(alg.name()));
        Ok(Self {
            kid,
            header: URL_SAFE_NO_PAD.encode(header.to_string()).into(),
            signer: Arc::new(signer),
            public,
        })
    }
}

pub(crate) fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents)
}

/// The kid: SHA-256, base64url, of the key's required public members (those of RFC 7638) as
/// a JSON object without spaces, `kty` first: `kty, crv, x, y` (EC), `kty, n, e` (RSA),
/// `kty, crv, x` (OKP). That is not RFC 7638's lexicographic order, so the kid is not the
/// RFC's thumbprint; it is the order the broker has always hashed (its JSON maps kept
/// insertion order), kept because relying parties hold these kids. The order is written out
/// here so that no serialization setting can change a kid.
fn thumbprint(public: &Map<String, Value>) -> String {
    let members: &[&str] = match public.get("kty").and_then(Value::as_str) {
        Some("EC") => &["kty", "crv", "x", "y"],
        Some("RSA") => &["kty", "n", "e"],
        _ => &["kty", "crv", "x"],
    };
    let mut canonical = String::from("{");
    for (i, member) in members.iter().enumerate() {
        if i > 0 {
            canonical.push(',');
        }
        canonical.push_str(&Value::from(*member).to_string());
        canonical.push(':');
        canonical.push_str(
            &public
                .get(*member)
                .map(Value::to_string)
                .unwrap_or_default(),
        );
    }
    canonical.push('}');
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        canonical.as_bytes(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};

    const NOW: i64 = 1_800_000_000;

    fn verify(keys: &KeySet, alg: SigningAlg, token: &str) -> Map<String, Value> {
        let jwks = keys.jwks_at(NOW);
        let header = jsonwebtoken::decode_header(token).unwrap();
        let kid = header.kid.unwrap();
        let jwk = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid.as_str() && k["alg"] == alg.name())
            .unwrap();
        let jwk: Jwk = serde_json::from_value(jwk.clone()).unwrap();
        let algorithm: Algorithm = alg.name().parse().unwrap();
        let mut validation = Validation::new(algorithm);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        let key = DecodingKey::from_jwk(&jwk).unwrap();
        jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .unwrap()
            .claims
    }

    #[test]
    fn signs_with_every_algorithm_and_verifies_against_the_jwks() {
        let keys = KeySet::generate().unwrap();
        for alg in SigningAlg::ALL {
            let mut claims = Map::new();
            claims.insert("sub".into(), Value::from("x"));
            claims.insert("nonce".into(), Value::from("n\"é"));
            let token = keys.sign(alg, claims).unwrap();
            let header = jsonwebtoken::decode_header(&token).unwrap();
            assert_eq!(crate::jose::name(header.alg), alg.name());
            assert_eq!(header.typ.as_deref(), Some("JWT"));
            let claims = verify(&keys, alg, &token);
            assert_eq!(claims["sub"], "x");
            assert_eq!(claims["nonce"], "n\"é");
        }
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
        for alg in [SigningAlg::ES256, SigningAlg::PS256, SigningAlg::RS256] {
            let mut claims = Map::new();
            claims.insert("sub".into(), Value::from("x"));
            let token = keys.sign(alg, claims).unwrap();
            assert_eq!(verify(&keys, alg, &token)["sub"], "x");
        }
    }

    /// An inconsistent or misdirected key is refused at load with the reason, never used.
    #[test]
    fn inconsistent_and_misdirected_jwks_are_refused() {
        let dir = tempfile::TempDir::new().unwrap();
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/keys/testdata");
        let rsa: Map<String, Value> =
            serde_json::from_slice(&std::fs::read(data.join("rsa.jwk")).unwrap()).unwrap();
        let ec: Map<String, Value> = serde_json::from_str(r#"{"kty":"EC","crv":"P-256","x":"dxeFm-ajOJK3Qc4x6_PEopLhBT1NjEZBn_g1_RkVJK8","y":"i2ncim7Gzq0fTRXoRX9AdEsJqM_avOuqp3wUbp9kvPE","d":"yZEw9OHrRanK8nQJpCMWfIB-psjx6wN36qjzrlpeVhw"}"#).unwrap();
        let with = |base: &Map<String, Value>, member: &str, value: Value| {
            let mut jwk = base.clone();
            jwk.insert(member.into(), value);
            jwk
        };
        let cases = [
            // Another key's public point, a wrong CRT member, a multi-prime key.
            (
                SigningAlg::ES256,
                with(
                    &ec,
                    "d",
                    "H6FdT4Zl_WQtdGFtlx5pg4AmkXo9_icN1J-IXkKHBxU".into(),
                ),
                "refused",
            ),
            (
                SigningAlg::PS256,
                with(&rsa, "dp", rsa["dq"].clone()),
                "refused",
            ),
            (
                SigningAlg::PS256,
                with(&rsa, "oth", Value::Array(vec![])),
                "multi-prime",
            ),
            (
                SigningAlg::PS256,
                {
                    let mut k = rsa.clone();
                    k.remove("qi");
                    k
                },
                "qi is missing",
            ),
            // A key for another purpose or algorithm.
            (SigningAlg::ES256, with(&ec, "use", "enc".into()), "use"),
            (SigningAlg::ES256, with(&ec, "alg", "ES384".into()), "ES384"),
            (SigningAlg::ES256, with(&ec, "crv", "P-384".into()), "P-256"),
            (SigningAlg::EdDSA, ec.clone(), "not a EdDSA key"),
            (SigningAlg::RS256, ec.clone(), "not a RS256 key"),
        ];
        for (i, (alg, jwk, reason)) in cases.into_iter().enumerate() {
            let path = dir.path().join(format!("{i}.jwk"));
            std::fs::write(&path, Value::Object(jwk).to_string()).unwrap();
            let e = SigningKey::from_file(alg, &path).err().unwrap();
            assert!(matches!(e, KeyError::Invalid { .. }), "{e}");
            assert!(e.to_string().contains(reason), "{i}: {e}");
        }
        // A PEM of one kind is not a key of another.
        let e = SigningKey::from_file(SigningAlg::ES256, &data.join("rsa-pkcs1.pem"))
            .err()
            .unwrap();
        assert!(e.to_string().contains("not a ES256 key"), "{e}");
    }

    #[test]
    fn the_jwks_has_public_members_only_and_unique_kids() {
        let keys = KeySet::generate().unwrap();
        let jwks = keys.jwks_at(NOW);
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
        let dir = tempfile::TempDir::new().unwrap();
        let files = KeySet::generate_files(dir.path()).unwrap();
        let keys = KeySet::load_at(&files, NOW).unwrap();
        assert!(SigningAlg::ALL.iter().all(|a| keys.supports(*a)));
        assert!(
            KeySet::generate_files(dir.path()).is_err(),
            "existing keys must not be replaced"
        );
    }

    #[test]
    fn loads_pem_and_jwk_files_and_rejects_garbage() {
        let dir = tempfile::TempDir::new().unwrap();
        let dir = dir.path();
        std::fs::write(
            dir.join("es256.pem"),
            generate_pem(SigningAlg::ES256).unwrap(),
        )
        .unwrap();
        let ed = r#"{"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
        std::fs::write(dir.join("eddsa.jwk"), ed).unwrap();
        std::fs::write(dir.join("bad.pem"), "-----BEGIN NONSENSE-----").unwrap();
        let files = BTreeMap::from([
            (SigningAlg::ES256, dir.join("es256.pem")),
            (SigningAlg::EdDSA, dir.join("eddsa.jwk")),
        ]);
        let keys = KeySet::load_at(&files, NOW).unwrap();
        assert!(keys.supports(SigningAlg::EdDSA) && !keys.supports(SigningAlg::PS256));
        let bad = BTreeMap::from([(SigningAlg::ES256, dir.join("bad.pem"))]);
        assert!(matches!(
            KeySet::load_at(&bad, NOW),
            Err(KeyError::Invalid { .. })
        ));
        let only_ed = BTreeMap::from([(SigningAlg::EdDSA, dir.join("eddsa.jwk"))]);
        assert!(matches!(
            KeySet::load_at(&only_ed, NOW),
            Err(KeyError::Missing(SigningAlg::ES256))
        ));
        assert!(matches!(
            KeySet::sign(&keys, SigningAlg::RS256, Map::new()),
            Err(KeyError::Missing(_))
        ));
    }
}
