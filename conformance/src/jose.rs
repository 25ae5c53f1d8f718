//! Just enough JOSE: decoding an ID token (unverified until [`verify`] says so) and
//! describing published keys. Signatures are checked with jsonwebtoken (aws-lc-rs), and ES512,
//! which jsonwebtoken does not offer, with aws-lc-rs directly.

use aws_lc_rs::signature::{ECDSA_P521_SHA512_FIXED, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};

/// An ID token as received: nothing in it is trusted until [`verify`] accepts it.
#[derive(Debug, Clone)]
pub(crate) struct UnverifiedJwt {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    signing_input: String,
    /// The signature as sent (base64url), checked to decode.
    signature: String,
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
        signature: match b64url_decode(signature) {
            Some(_) => signature.trim_end_matches('=').to_owned(),
            None => return Err("the signature is not base64url".into()),
        },
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

/// A JWT signed ES256 with a key made for this call and published nowhere: what someone
/// other than the provider under test can sign. `kid` names no key of anyone's.
pub(crate) fn sign_with_own_key(claims: &Map<String, Value>) -> Result<String, String> {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
        .map_err(|_| "cannot make an ES256 key")?;
    let header =
        serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": "pctf-conformance-own-key"});
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let input = format!("{}.{}", part(&header), part(&Value::Object(claims.clone())));
    let signature = key
        .sign(&SystemRandom::new(), input.as_bytes())
        .map_err(|_| "cannot sign with the ES256 key")?;
    Ok(format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(signature.as_ref())
    ))
}

/// Verifies the signature with one published key. Only asymmetric algorithms are accepted:
/// RSASSA-PKCS1-v1_5 and RSASSA-PSS with SHA-256, -384 and -512, ECDSA on P-256, P-384 and
/// P-521, and EdDSA on Ed25519 (as `EdDSA` or `Ed25519`). The key must be of the algorithm's
/// type and curve, and its `alg` and `use`, when it has them, must allow the algorithm.
pub(crate) fn verify(jwt: &UnverifiedJwt, jwk: &Map<String, Value>) -> Result<(), String> {
    let name = jwt.alg();
    let alg = match name {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "ES512" => return verify_es512(jwt, jwk),
        "EdDSA" | "Ed25519" => Algorithm::EdDSA,
        other => return Err(format!("{other:?} is not an accepted asymmetric algorithm")),
    };
    let key: Jwk = serde_json::from_value(Value::Object(jwk.clone()))
        .map_err(|e| format!("unusable key: {e}"))?;
    fits(&key, name, alg)?;
    let key = DecodingKey::from_jwk(&key).map_err(|e| format!("unusable key: {e}"))?;
    match jsonwebtoken::crypto::verify(&jwt.signature, jwt.signing_input.as_bytes(), &key, alg) {
        Ok(true) => Ok(()),
        Ok(false) => Err("the signature does not verify".into()),
        Err(e) => Err(format!("the signature does not verify: {e}")),
    }
}

/// Whether `key` may verify a token of `alg` (named `name` in its header).
fn fits(key: &Jwk, name: &str, alg: Algorithm) -> Result<(), String> {
    if let Some(named) = key.common.key_algorithm
        && named != KeyAlgorithm::from(alg)
    {
        return Err(format!("unusable key: its alg is {named}, not {name}"));
    }
    if let Some(usage) = &key.common.public_key_use
        && *usage != PublicKeyUse::Signature
    {
        return Err(format!("unusable key: its use is {usage:?}, not sig"));
    }
    let fits = match (&key.algorithm, alg) {
        (AlgorithmParameters::RSA(_), _) => matches!(
            alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ),
        (AlgorithmParameters::EllipticCurve(p), Algorithm::ES256) => p.curve == EllipticCurve::P256,
        (AlgorithmParameters::EllipticCurve(p), Algorithm::ES384) => p.curve == EllipticCurve::P384,
        (AlgorithmParameters::OctetKeyPair(p), Algorithm::EdDSA) => {
            p.curve == EllipticCurve::Ed25519
        }
        _ => false,
    };
    if fits {
        Ok(())
    } else {
        Err(format!("unusable key: not a key for {name}"))
    }
}

/// ES512 (ECDSA on P-521 with SHA-512, RFC 7518 3.4).
fn verify_es512(jwt: &UnverifiedJwt, jwk: &Map<String, Value>) -> Result<(), String> {
    let get = |name: &str| jwk.get(name).and_then(Value::as_str);
    if get("kty") != Some("EC") || get("crv") != Some("P-521") {
        return Err("unusable key: not a key for ES512".into());
    }
    if get("alg").is_some_and(|a| a != "ES512") || get("use").is_some_and(|u| u != "sig") {
        return Err("unusable key: its alg or use does not allow ES512".into());
    }
    let coordinate = |name: &str| {
        get(name)
            .and_then(b64url_decode)
            .filter(|c| c.len() == 66)
            .ok_or_else(|| format!("unusable key: {name} is not a P-521 coordinate"))
    };
    let point = [vec![4u8], coordinate("x")?, coordinate("y")?].concat();
    let signature = b64url_decode(&jwt.signature).unwrap_or_default();
    UnparsedPublicKey::new(&ECDSA_P521_SHA512_FIXED, point)
        .verify(jwt.signing_input.as_bytes(), &signature)
        .map_err(|_| "the signature does not verify".to_owned())
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
    fn own_key_tokens_are_es256_jws() {
        let claims = serde_json::json!({"iss": "https://broker.example", "sid": "s"});
        let token = sign_with_own_key(claims.as_object().unwrap_or(&Map::new()))
            .unwrap_or_else(|e| unreachable!("{e}"));
        let jwt = decode(&token).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(jwt.alg(), "ES256");
        assert_eq!(jwt.kid(), Some("pctf-conformance-own-key"));
        assert_eq!(jwt.claims.get("sid"), Some(&Value::from("s")));
        assert_eq!(b64url_decode(&jwt.signature).map(|s| s.len()), Some(64));
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
