//! ID token verification: the signature against a JWKS fetched once at start (the verifier
//! chosen from the header's `alg`: ES256, PS256, RS256 or EdDSA), then `iss`, `aud`, `nonce`
//! and `exp`.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};

use crate::flow::Fail;

/// The algorithms a verifier is built for. Never `none`, never HMAC.
const ALGS: [&str; 4] = ["ES256", "PS256", "RS256", "EdDSA"];

#[derive(Debug)]
struct Key {
    kid: Option<String>,
    alg: &'static str,
    algorithm: Algorithm,
    /// Parsed once, at start: the load tool verifies every token it gets.
    key: DecodingKey,
}

/// Verifies the ID tokens of one issuer for one client.
#[derive(Debug)]
pub struct IdTokenVerifier {
    keys: Vec<Key>,
    issuer: String,
    audience: String,
}

fn algs_for(jwk: &Jwk) -> Vec<(&'static str, Algorithm)> {
    let candidates: &[(&'static str, Algorithm)] = match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
            &[("ES256", Algorithm::ES256)]
        }
        AlgorithmParameters::RSA(_) => &[("PS256", Algorithm::PS256), ("RS256", Algorithm::RS256)],
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            &[("EdDSA", Algorithm::EdDSA)]
        }
        _ => &[],
    };
    candidates
        .iter()
        .copied()
        .filter(|(_, a)| {
            jwk.common
                .key_algorithm
                .is_none_or(|declared| declared == KeyAlgorithm::from(*a))
        })
        .collect()
}

impl IdTokenVerifier {
    /// Builds the verifiers from a JWKS document (`{"keys": [...]}`).
    pub fn from_jwks(jwks: &Value, issuer: &str, audience: &str) -> anyhow::Result<Self> {
        let entries = jwks["keys"]
            .as_array()
            .context("the JWKS has no \"keys\" array")?;
        let mut keys = Vec::new();
        for entry in entries {
            let jwk: Jwk =
                serde_json::from_value(entry.clone()).context("a JWKS key is not a JWK")?;
            if jwk
                .common
                .public_key_use
                .as_ref()
                .is_some_and(|u| *u != PublicKeyUse::Signature)
            {
                continue;
            }
            for (alg, algorithm) in algs_for(&jwk) {
                let key = DecodingKey::from_jwk(&jwk)
                    .with_context(|| format!("JWKS key {:?} for {alg}", jwk.common.key_id))?;
                keys.push(Key {
                    kid: jwk.common.key_id.clone(),
                    alg,
                    algorithm,
                    key,
                });
            }
        }
        if keys.is_empty() {
            bail!("the JWKS has no usable signing key ({})", ALGS.join(", "));
        }
        Ok(Self {
            keys,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        })
    }

    /// Checks the signature and the claims of an ID token issued for `nonce`.
    pub fn verify(&self, token: &str, nonce: &str) -> Result<(), Fail> {
        let malformed = || Fail::new("malformed_id_token");
        let header = demo::jose::unverified_header(token).map_err(|_| malformed())?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or_else(malformed)?;
        if !ALGS.contains(&alg) {
            return Err(Fail::new(format!("alg_{alg}")));
        }
        let kid = header.get("kid").and_then(Value::as_str);
        // The key named by `kid`; a header or a key without one matches by algorithm.
        let key = self
            .keys
            .iter()
            .find(|k| k.alg == alg && k.kid.is_some() && k.kid.as_deref() == kid)
            .or_else(|| {
                self.keys
                    .iter()
                    .find(|k| k.alg == alg && (kid.is_none() || k.kid.is_none()))
            })
            .ok_or_else(|| Fail::new("unknown_kid"))?;
        let (message, signature) = token.rsplit_once('.').ok_or_else(malformed)?;
        if !jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key.key, key.algorithm)
            .unwrap_or(false)
        {
            return Err(Fail::new("signature"));
        }
        let payload = message.split('.').nth(1).ok_or_else(malformed)?;
        let payload: Map<String, Value> = demo_b64(payload)
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(malformed)?;
        if payload.get("iss").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err(Fail::new("claim_iss"));
        }
        let audience = match payload.get("aud") {
            Some(Value::String(aud)) => aud == &self.audience,
            Some(Value::Array(auds)) => auds.iter().any(|a| a == self.audience.as_str()),
            _ => false,
        };
        if !audience {
            return Err(Fail::new("claim_aud"));
        }
        if payload.get("nonce").and_then(Value::as_str) != Some(nonce) {
            return Err(Fail::new("claim_nonce"));
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if payload
            .get("exp")
            .and_then(Value::as_u64)
            .is_none_or(|exp| exp <= now)
        {
            return Err(Fail::new("claim_exp"));
        }
        Ok(())
    }
}

fn demo_b64(part: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use demo::jose::KeyPair;
    use std::time::Duration;

    fn token(
        signer: &KeyPair,
        kid: &str,
        iss: &str,
        aud: &str,
        nonce: &str,
        exp: SystemTime,
    ) -> String {
        // The signer names its key's kid in the header.
        let exp = exp.duration_since(UNIX_EPOCH).unwrap().as_secs();
        let claims = serde_json::json!({ "iss": iss, "aud": [aud], "nonce": nonce, "exp": exp });
        signer
            .sign_jws(
                &serde_json::json!({ "alg": "ES256", "kid": kid }),
                claims.to_string().as_bytes(),
            )
            .unwrap()
    }

    #[test]
    fn checks_signature_and_claims() {
        let key = KeyPair::generate("ES256").unwrap();
        let mut public = key.public_jwk();
        public.insert("kid".into(), "k1".into());
        let jwks = serde_json::json!({ "keys": [Value::Object(public)] });
        let v = IdTokenVerifier::from_jwks(&jwks, "http://127.0.0.1:1", "rp").unwrap();
        let later = SystemTime::now() + Duration::from_secs(60);
        let good = token(&key, "k1", "http://127.0.0.1:1", "rp", "n", later);
        assert_eq!(v.verify(&good, "n").err().map(|f| f.kind), None);
        let kind = |r: Result<(), Fail>| r.err().map(|f| f.kind);
        assert_eq!(kind(v.verify(&good, "m")).as_deref(), Some("claim_nonce"));
        let t = token(&key, "k1", "http://evil", "rp", "n", later);
        assert_eq!(kind(v.verify(&t, "n")).as_deref(), Some("claim_iss"));
        let t = token(&key, "k1", "http://127.0.0.1:1", "other", "n", later);
        assert_eq!(kind(v.verify(&t, "n")).as_deref(), Some("claim_aud"));
        let past = SystemTime::now() - Duration::from_secs(60);
        let t = token(&key, "k1", "http://127.0.0.1:1", "rp", "n", past);
        assert_eq!(kind(v.verify(&t, "n")).as_deref(), Some("claim_exp"));
        let t = token(&key, "k2", "http://127.0.0.1:1", "rp", "n", later);
        assert_eq!(kind(v.verify(&t, "n")).as_deref(), Some("unknown_kid"));
        let other = KeyPair::generate("ES256").unwrap();
        let forged = token(&other, "k1", "http://127.0.0.1:1", "rp", "n", later);
        assert_eq!(kind(v.verify(&forged, "n")).as_deref(), Some("signature"));
    }
}
