//! ID token verification: the signature against a JWKS fetched once at start (the verifier
//! chosen from the header's `alg`: ES256, PS256, RS256 or EdDSA), then `iss`, `aud`, `nonce`
//! and `exp`.

use std::time::SystemTime;

use anyhow::{Context as _, bail};
use josekit::jwk::Jwk;
use josekit::jws::JwsVerifier;
use serde_json::Value;

use crate::flow::Fail;

/// The algorithms a verifier is built for. Never `none`, never HMAC.
const ALGS: [&str; 4] = ["ES256", "PS256", "RS256", "EdDSA"];

#[derive(Debug)]
struct Key {
    kid: Option<String>,
    alg: &'static str,
    verifier: Box<dyn JwsVerifier>,
}

/// Verifies the ID tokens of one issuer for one client.
#[derive(Debug)]
pub struct IdTokenVerifier {
    keys: Vec<Key>,
    issuer: String,
    audience: String,
}

fn algs_for(jwk: &Jwk) -> Vec<&'static str> {
    let candidates: &[&'static str] = match (jwk.key_type(), jwk.curve()) {
        ("EC", Some("P-256")) => &["ES256"],
        ("RSA", _) => &["PS256", "RS256"],
        ("OKP", Some("Ed25519")) => &["EdDSA"],
        _ => &[],
    };
    candidates
        .iter()
        .copied()
        .filter(|a| jwk.algorithm().is_none_or(|declared| declared == *a))
        .collect()
}

fn build(alg: &str, jwk: &Jwk) -> anyhow::Result<Box<dyn JwsVerifier>> {
    Ok(match alg {
        "ES256" => Box::new(josekit::jws::ES256.verifier_from_jwk(jwk)?),
        "PS256" => Box::new(josekit::jws::PS256.verifier_from_jwk(jwk)?),
        "RS256" => Box::new(josekit::jws::RS256.verifier_from_jwk(jwk)?),
        "EdDSA" => Box::new(josekit::jws::EdDSA.verifier_from_jwk(jwk)?),
        other => bail!("algorithm {other} is not accepted"),
    })
}

impl IdTokenVerifier {
    /// Builds the verifiers from a JWKS document (`{"keys": [...]}`).
    pub fn from_jwks(jwks: &Value, issuer: &str, audience: &str) -> anyhow::Result<Self> {
        let entries = jwks["keys"]
            .as_array()
            .context("the JWKS has no \"keys\" array")?;
        let mut keys = Vec::new();
        for entry in entries {
            let map = entry.as_object().context("a JWKS key is not an object")?;
            let jwk = Jwk::from_map(map.clone()).context("a JWKS key is not a JWK")?;
            if jwk.key_use().is_some_and(|u| u != "sig") {
                continue;
            }
            for alg in algs_for(&jwk) {
                let verifier = build(alg, &jwk)
                    .with_context(|| format!("JWKS key {:?} for {alg}", jwk.key_id()))?;
                keys.push(Key {
                    kid: jwk.key_id().map(str::to_owned),
                    alg,
                    verifier,
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
        let header =
            josekit::jwt::decode_header(token).map_err(|_| Fail::new("malformed_id_token"))?;
        let alg = header
            .claim("alg")
            .and_then(Value::as_str)
            .ok_or_else(|| Fail::new("malformed_id_token"))?;
        if !ALGS.contains(&alg) {
            return Err(Fail::new(format!("alg_{alg}")));
        }
        let kid = header.claim("kid").and_then(Value::as_str);
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
        let (payload, _) = josekit::jwt::decode_with_verifier(token, key.verifier.as_ref())
            .map_err(|_| Fail::new("signature"))?;
        if payload.issuer() != Some(self.issuer.as_str()) {
            return Err(Fail::new("claim_iss"));
        }
        if !payload
            .audience()
            .is_some_and(|aud| aud.contains(&self.audience.as_str()))
        {
            return Err(Fail::new("claim_aud"));
        }
        if payload.claim("nonce").and_then(Value::as_str) != Some(nonce) {
            return Err(Fail::new("claim_nonce"));
        }
        if payload
            .expires_at()
            .is_none_or(|exp| exp <= SystemTime::now())
        {
            return Err(Fail::new("claim_exp"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use josekit::jws::{ES256, JwsHeader};
    use josekit::jwt::JwtPayload;
    use std::time::Duration;

    fn token(signer_key: &Jwk, iss: &str, aud: &str, nonce: &str, exp: SystemTime) -> String {
        // The signer names its key's kid in the header.
        let header = JwsHeader::new();
        let mut payload = JwtPayload::new();
        payload.set_issuer(iss);
        payload.set_audience(vec![aud]);
        payload.set_claim("nonce", Some(nonce.into())).unwrap();
        payload.set_expires_at(&exp);
        let signer = ES256.signer_from_jwk(signer_key).unwrap();
        josekit::jwt::encode_with_signer(&payload, &header, &signer).unwrap()
    }

    #[test]
    fn checks_signature_and_claims() {
        let mut key = Jwk::generate_ec_key(josekit::jwk::alg::ec::EcCurve::P256).unwrap();
        key.set_key_id("k1");
        let mut public = key.to_public_key().unwrap();
        public.set_key_id("k1");
        let jwks = serde_json::json!({ "keys": [Value::Object(public.as_ref().clone())] });
        let v = IdTokenVerifier::from_jwks(&jwks, "http://127.0.0.1:1", "rp").unwrap();
        let later = SystemTime::now() + Duration::from_secs(60);
        let good = token(&key, "http://127.0.0.1:1", "rp", "n", later);
        assert_eq!(v.verify(&good, "n").err().map(|f| f.kind), None);
        let kind = |r: Result<(), Fail>| r.err().map(|f| f.kind);
        assert_eq!(kind(v.verify(&good, "m")).as_deref(), Some("claim_nonce"));
        let t = token(&key, "http://evil", "rp", "n", later);
        assert_eq!(kind(v.verify(&t, "n")).as_deref(), Some("claim_iss"));
        let t = token(&key, "http://127.0.0.1:1", "other", "n", later);
        assert_eq!(kind(v.verify(&t, "n")).as_deref(), Some("claim_aud"));
        let past = SystemTime::now() - Duration::from_secs(60);
        let t = token(&key, "http://127.0.0.1:1", "rp", "n", past);
        assert_eq!(kind(v.verify(&t, "n")).as_deref(), Some("claim_exp"));
        let mut renamed = key.clone();
        renamed.set_key_id("k2");
        let t = token(&renamed, "http://127.0.0.1:1", "rp", "n", later);
        assert_eq!(kind(v.verify(&t, "n")).as_deref(), Some("unknown_kid"));
        let mut other = Jwk::generate_ec_key(josekit::jwk::alg::ec::EcCurve::P256).unwrap();
        other.set_key_id("k1");
        let forged = token(&other, "http://127.0.0.1:1", "rp", "n", later);
        assert_eq!(kind(v.verify(&forged, "n")).as_deref(), Some("signature"));
    }
}
