//! Just enough JOSE: decoding an ID token (unverified until [`verify`] says so) and
//! describing published keys.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::Jwk;
use josekit::jws::JwsVerifier;
use serde_json::{Map, Value};

/// An ID token as received: nothing in it is trusted until [`verify`] accepts it.
#[derive(Debug, Clone)]
pub(crate) struct UnverifiedJwt {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

pub(crate) fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()
}

pub(crate) fn decode(token: &str) -> Result<UnverifiedJwt, String> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts.as_slice() else {
        return Err(format!(
            "not a compact JWS (3 parts expected, {} found)",
            parts.len()
        ));
    };
    let object = |part: &str, what: &str| -> Result<Map<String, Value>, String> {
        let bytes = b64url_decode(part).ok_or_else(|| format!("the {what} is not base64url"))?;
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(format!("the {what} is not a JSON object")),
        }
    };
    Ok(UnverifiedJwt {
        header: object(header, "header")?,
        claims: object(payload, "payload")?,
        signing_input: format!("{header}.{payload}"),
        signature: b64url_decode(signature).ok_or("the signature is not base64url")?,
    })
}

impl UnverifiedJwt {
    pub fn alg(&self) -> &str {
        self.header
            .get("alg")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }
}

/// Verifies the signature with one published key. Only asymmetric algorithms are accepted.
pub(crate) fn verify(jwt: &UnverifiedJwt, jwk: &Map<String, Value>) -> Result<(), String> {
    let jwk = Jwk::from_map(jwk.clone()).map_err(|e| format!("unusable key: {e}"))?;
    let verifier: Box<dyn JwsVerifier> = match jwt.alg() {
        "RS256" => Box::new(josekit::jws::RS256.verifier_from_jwk(&jwk).map_err(s)?),
        "RS384" => Box::new(josekit::jws::RS384.verifier_from_jwk(&jwk).map_err(s)?),
        "RS512" => Box::new(josekit::jws::RS512.verifier_from_jwk(&jwk).map_err(s)?),
        "PS256" => Box::new(josekit::jws::PS256.verifier_from_jwk(&jwk).map_err(s)?),
        "PS384" => Box::new(josekit::jws::PS384.verifier_from_jwk(&jwk).map_err(s)?),
        "PS512" => Box::new(josekit::jws::PS512.verifier_from_jwk(&jwk).map_err(s)?),
        "ES256" => Box::new(josekit::jws::ES256.verifier_from_jwk(&jwk).map_err(s)?),
        "ES384" => Box::new(josekit::jws::ES384.verifier_from_jwk(&jwk).map_err(s)?),
        "ES512" => Box::new(josekit::jws::ES512.verifier_from_jwk(&jwk).map_err(s)?),
        "EdDSA" | "Ed25519" => Box::new(josekit::jws::EdDSA.verifier_from_jwk(&jwk).map_err(s)?),
        other => return Err(format!("{other:?} is not an accepted asymmetric algorithm")),
    };
    verifier
        .verify(jwt.signing_input.as_bytes(), &jwt.signature)
        .map_err(|e| format!("the signature does not verify: {e}"))
}

fn s(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// What is wrong with a published key's strength, if anything.
pub(crate) fn key_weakness(jwk: &Map<String, Value>) -> Option<(String, String)> {
    let kid = jwk.get("kid").and_then(Value::as_str).unwrap_or("(no kid)");
    let get = |name: &str| jwk.get(name).and_then(Value::as_str);
    match get("kty") {
        Some("RSA") => {
            let bits = get("n").and_then(b64url_decode).map(|n| rsa_bits(&n));
            match bits {
                Some(bits) if bits >= 2048 => None,
                Some(bits) => Some((
                    format!("key {kid}: RSA of {bits} bits (2048 at least)"),
                    format!("clé {kid} : RSA de {bits} bits (2048 au moins)"),
                )),
                None => Some((
                    format!("key {kid}: RSA modulus unreadable"),
                    format!("clé {kid} : module RSA illisible"),
                )),
            }
        }
        Some("EC") => match get("crv") {
            Some("P-256" | "P-384" | "P-521") => None,
            other => Some((
                format!("key {kid}: EC curve {other:?} (P-256, P-384 or P-521)"),
                format!("clé {kid} : courbe EC {other:?} (P-256, P-384 ou P-521)"),
            )),
        },
        Some("OKP") => match get("crv") {
            Some("Ed25519" | "Ed448") => None,
            other => Some((
                format!("key {kid}: OKP curve {other:?} is not a signature curve"),
                format!("clé {kid} : la courbe OKP {other:?} n'est pas une courbe de signature"),
            )),
        },
        Some("oct") => Some((
            format!("key {kid}: a symmetric (oct) key is published"),
            format!("clé {kid} : une clé symétrique (oct) est publiée"),
        )),
        other => Some((
            format!("key {kid}: unknown key type {other:?}"),
            format!("clé {kid} : type de clé inconnu {other:?}"),
        )),
    }
}

/// The bit length of a big-endian unsigned modulus.
pub(crate) fn rsa_bits(n: &[u8]) -> usize {
    let n: Vec<u8> = n.iter().copied().skip_while(|b| *b == 0).collect();
    match n.first() {
        None => 0,
        Some(first) => (n.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
    }
}

/// Private key members a JWK must not publish (RFC 7518 section 6).
pub(crate) const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_bits_counts_from_the_top_bit() {
        assert_eq!(rsa_bits(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(rsa_bits(&[0x01, 0x00]), 9);
        assert_eq!(rsa_bits(&[]), 0);
    }

    #[test]
    fn weak_keys_are_named() {
        let ec = |crv: &str| {
            serde_json::json!({"kty": "EC", "crv": crv, "kid": "k1"})
                .as_object()
                .cloned()
                .unwrap_or_default()
        };
        assert!(key_weakness(&ec("P-256")).is_none());
        assert!(key_weakness(&ec("secp256k1")).is_some());
        let rsa = serde_json::json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode([0xffu8; 128]), "e": "AQAB"});
        let weak = key_weakness(rsa.as_object().unwrap_or(&Map::new()));
        assert!(weak.is_some_and(|(en, _)| en.contains("1024")));
    }

    #[test]
    fn tokens_decode_into_parts() {
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        let p = URL_SAFE_NO_PAD.encode(br#"{"sub":"x"}"#);
        let jwt = decode(&format!("{h}.{p}.")).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(jwt.alg(), "none");
        assert!(verify(&jwt, &Map::new()).is_err());
        assert!(decode("a.b").is_err());
    }
}
