//! The provider's ES256 signing key, its JWKS, and the signing of ID tokens (including the
//! signature faults).

use std::fmt;

use anyhow::Context as _;
use serde_json::{Map, Value, json};

use super::Fault;
use crate::jose::KeyPair;
use crate::util::b64url;

struct SigningKey {
    kid: String,
    pair: KeyPair,
    public: Map<String, Value>,
    /// The private JWK, published only under [`Fault::PrivateKeyInJwks`].
    private: Map<String, Value>,
}

/// The modulus of a 1024-bit RSA public key, published under [`Fault::WeakRsaKey`].
const WEAK_RSA_N: &str = "rF8XemibBxber-dkWGTkKaICcQqzf4qjth9MtLFv1Dc0BUXLbTlIFhgIovXvnYAf7IOkJiZ9sItlK5K7EetVHF10-gPNjgJRSuqUyXQEV02Q_INY5MrpZVGBgwOJeV2jgCHH7F3zEgdoniiuIDKPB-O8Kwi-7pUziMGrvAj64O0";

impl SigningKey {
    fn generate() -> anyhow::Result<Self> {
        let pair = KeyPair::generate("ES256").context("cannot generate an ES256 key")?;
        let mut public = pair.public_jwk();
        let kid = thumbprint(&public)?;
        public.insert("kid".into(), Value::from(kid.clone()));
        let mut private = public.clone();
        let d = pair
            .ec_private_scalar()
            .context("the private key has no d")?;
        private.insert("d".into(), Value::from(d));
        Ok(Self {
            kid,
            pair,
            public,
            private,
        })
    }

    fn sign(&self, header: &Value, payload: &Map<String, Value>) -> anyhow::Result<String> {
        let input = signing_input(header, payload)?;
        let signature = self.pair.sign(input.as_bytes())?;
        Ok(format!("{input}.{}", b64url(signature)))
    }
}

/// The RFC 7638 thumbprint of an EC public key, as its `kid`.
fn thumbprint(jwk: &Map<String, Value>) -> anyhow::Result<String> {
    let member = |name: &str| {
        jwk.get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .with_context(|| format!("the public key has no {name}"))
    };
    let canonical = format!(
        r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
        member("crv")?,
        member("x")?,
        member("y")?
    );
    Ok(b64url(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        canonical.as_bytes(),
    )))
}

fn signing_input(header: &Value, payload: &Map<String, Value>) -> anyhow::Result<String> {
    Ok(format!(
        "{}.{}",
        b64url(serde_json::to_vec(header)?),
        b64url(serde_json::to_vec(payload)?)
    ))
}

/// The published key, and a second one that is never published (for [`Fault::UnknownKid`])
/// or published from the second JWKS answer on (for [`Fault::KeyRotatedAfterFirstJwks`]).
pub(super) struct Keys {
    current: SigningKey,
    unpublished: SigningKey,
    jwks_served: std::sync::atomic::AtomicUsize,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("kid", &self.current.kid)
            .finish_non_exhaustive()
    }
}

impl Keys {
    pub(super) fn generate() -> anyhow::Result<Self> {
        Ok(Self {
            current: SigningKey::generate()?,
            unpublished: SigningKey::generate()?,
            jwks_served: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// The JWKS document: the current public key only, unless a key fault adds to it.
    pub(super) fn jwks(&self, fault: Option<&Fault>) -> Value {
        let key = &self.current.public;
        match fault {
            Some(Fault::PrivateKeyInJwks) => {
                json!({ "keys": [self.current.private] })
            }
            Some(Fault::DuplicateKid) => {
                let mut other = self.unpublished.public.clone();
                other.insert("kid".into(), Value::from(self.current.kid.clone()));
                json!({ "keys": [key, other] })
            }
            Some(Fault::KeyRotatedAfterFirstJwks) => {
                let served = self
                    .jwks_served
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if served == 0 {
                    json!({ "keys": [key] })
                } else {
                    json!({ "keys": [key, self.unpublished.public] })
                }
            }
            Some(Fault::WeakRsaKey) => json!({ "keys": [key, {
                "kty": "RSA", "use": "sig", "alg": "RS256", "kid": "weak-rsa-1024",
                "n": WEAK_RSA_N, "e": "AQAB",
            }] }),
            _ => json!({ "keys": [key] }),
        }
    }

    /// Signs a Back-Channel Logout token with the published key, explicitly typed
    /// (`typ: logout+jwt`, Back-Channel Logout 1.0 2.4) so that it cannot pass for an ID
    /// token. The faults are for ID tokens and do not apply.
    pub(super) fn sign_logout_token(&self, payload: &Map<String, Value>) -> anyhow::Result<String> {
        let header = json!({ "alg": "ES256", "typ": "logout+jwt", "kid": self.current.kid });
        self.current.sign(&header, payload)
    }

    /// The payload of a JWS this provider signed (with either of its keys: the second one signs
    /// under the key faults), whatever its claims say; none for any other token.
    pub(super) fn verify_own(&self, token: &str) -> Option<Map<String, Value>> {
        [&self.current, &self.unpublished].iter().find_map(|key| {
            let (_, payload) = crate::jose::verify_with_jwk(token, &key.public, &["ES256"]).ok()?;
            serde_json::from_slice(&payload).ok()
        })
    }

    /// Signs an ID token, applying the signature faults; claim faults are applied by the caller.
    pub(super) fn sign_id_token(
        &self,
        payload: &Map<String, Value>,
        fault: Option<&Fault>,
        client_secret: &str,
    ) -> anyhow::Result<String> {
        let es256 = |kid: &str| json!({ "alg": "ES256", "typ": "JWT", "kid": kid });
        match fault {
            Some(Fault::AlgNone) => {
                let input = signing_input(&json!({ "alg": "none", "typ": "JWT" }), payload)?;
                Ok(format!("{input}."))
            }
            Some(Fault::HmacWithClientSecret) => {
                let header = json!({ "alg": "HS256", "typ": "JWT" });
                let payload = serde_json::to_vec(payload)?;
                Ok(crate::jose::hs256_jws(
                    &header,
                    &payload,
                    client_secret.as_bytes(),
                ))
            }
            Some(Fault::UnknownKid | Fault::KeyRotatedAfterFirstJwks) => self
                .unpublished
                .sign(&es256(&self.unpublished.kid), payload),
            Some(Fault::BadSignature) => {
                let input = signing_input(&es256(&self.current.kid), payload)?;
                let mut signature = self.current.pair.sign(input.as_bytes())?;
                if let Some(byte) = signature.get_mut(7) {
                    *byte ^= 0x01;
                }
                Ok(format!("{input}.{}", b64url(signature)))
            }
            _ => self.current.sign(&es256(&self.current.kid), payload),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::{VerifyError, verify_with_jwk};

    fn key(jwks: &Value, i: usize) -> Map<String, Value> {
        jwks["keys"][i].as_object().unwrap().clone()
    }

    #[test]
    fn signed_tokens_verify_with_the_published_key() {
        let keys = Keys::generate().unwrap();
        let mut payload = Map::new();
        payload.insert("sub".into(), json!("x"));
        let token = keys.sign_id_token(&payload, None, "secret").unwrap();
        let jwks = keys.jwks(None);
        let jwk = key(&jwks, 0);
        let (header, body) = verify_with_jwk(&token, &jwk, &["ES256"]).unwrap();
        assert_eq!(header["kid"], jwk["kid"]);
        assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["sub"], "x");

        let bad = keys
            .sign_id_token(&payload, Some(&Fault::BadSignature), "secret")
            .unwrap();
        assert_eq!(
            verify_with_jwk(&bad, &jwk, &["ES256"]),
            Err(VerifyError::Signature)
        );
        let (_, signature) = bad.rsplit_once('.').unwrap();
        let signature = crate::util::b64url_decode(signature).unwrap();
        assert_eq!(signature.len(), 64);
    }

    /// The kid is the key's RFC 7638 thumbprint (checked against the RFC's own computation
    /// order: the required members, sorted, without spaces).
    #[test]
    fn the_kid_is_the_thumbprint() {
        let keys = Keys::generate().unwrap();
        let jwk = key(&keys.jwks(None), 0);
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk["x"].as_str().unwrap(),
            jwk["y"].as_str().unwrap()
        );
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
        assert_eq!(jwk["kid"], b64url(digest));
    }

    #[test]
    fn key_faults_alter_only_the_jwks() {
        let keys = Keys::generate().unwrap();
        let clean = keys.jwks(None);
        assert!(clean["keys"][0].get("d").is_none());
        assert_eq!(keys.jwks(Some(&Fault::BadSignature)), clean);

        let private = keys.jwks(Some(&Fault::PrivateKeyInJwks));
        assert!(private["keys"][0]["d"].is_string());
        assert_eq!(private["keys"][0]["kid"], clean["keys"][0]["kid"]);
        assert_eq!(private["keys"][0]["x"], clean["keys"][0]["x"]);

        let duplicate = keys.jwks(Some(&Fault::DuplicateKid));
        assert_eq!(duplicate["keys"][0]["kid"], duplicate["keys"][1]["kid"]);
        assert_ne!(duplicate["keys"][0]["x"], duplicate["keys"][1]["x"]);

        let weak = keys.jwks(Some(&Fault::WeakRsaKey));
        let n = crate::util::b64url_decode(weak["keys"][1]["n"].as_str().unwrap()).unwrap();
        assert_eq!(n.len() * 8, 1024);
        assert_eq!(weak["keys"][0], clean["keys"][0]);
    }

    #[test]
    fn a_rotated_key_is_published_from_the_second_jwks_on_and_signs() {
        let keys = Keys::generate().unwrap();
        let rotated = Some(&Fault::KeyRotatedAfterFirstJwks);
        let first = keys.jwks(rotated);
        assert_eq!(first, keys.jwks(None));
        let later = keys.jwks(rotated);
        assert_eq!(later["keys"].as_array().unwrap().len(), 2);
        assert_eq!(later["keys"][0], first["keys"][0]);
        let token = keys.sign_id_token(&Map::new(), rotated, "secret").unwrap();
        let jwk = key(&later, 1);
        let (header, _) = verify_with_jwk(&token, &jwk, &["ES256"]).unwrap();
        assert_eq!(header["kid"], jwk["kid"]);
    }
}
