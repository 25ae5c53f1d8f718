//! The signature of a provider's ID token, verified with `ring` against the provider's JWKS.
//!
//! openidconnect verifies signatures with the pure-Rust RustCrypto crates, which on this
//! machine cost about 200 µs per ES256 or RS256 token, the largest single cost of a brokered
//! login; `ring` does the same in a fraction of that. The rules are those openidconnect
//! applies, and stricter: the algorithm must be on [`ALGS`] (never `none`, never HMAC: a
//! provider's token must be verifiable with its published public key and nothing else); a
//! `kid` in the header selects the key; a key's `use` and `alg`, when present, must fit; RSA
//! keys need 2048 bits at least. The claims are checked after this, by `super::validation`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::SignatureVerificationError;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde_json::Value;

/// The JWS algorithms accepted on upstream ID tokens.
pub const ALGS: [&str; 6] = ["RS256", "PS256", "PS384", "ES256", "ES384", "EdDSA"];

fn b64(part: &str) -> Result<Vec<u8>, SignatureVerificationError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| SignatureVerificationError::Other("not base64url".into()))
}

/// Verifies the compact JWS `jwt` with a key of `jwks` (a JWK Set as JSON).
/// `NoMatchingKey` when no key could have signed it (the caller may refetch the JWKS once).
pub fn verify(jwt: &str, jwks: &Value) -> Result<(), SignatureVerificationError> {
    let mut parts = jwt.split('.');
    let (Some(header), Some(payload), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SignatureVerificationError::Other(
            "not a compact JWS".into(),
        ));
    };
    let header: Value = serde_json::from_slice(&b64(header)?)
        .map_err(|_| SignatureVerificationError::Other("the header is not JSON".into()))?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    if !ALGS.contains(&alg) {
        return Err(SignatureVerificationError::DisallowedAlg(format!(
            "algorithm {alg:?} is not one of {ALGS:?}"
        )));
    }
    let kid = header.get("kid").and_then(Value::as_str);
    let signature = b64(sig)?;
    if signature.is_empty() {
        return Err(SignatureVerificationError::NoSignature);
    }
    let message = &jwt.as_bytes()[..jwt.len() - sig.len() - 1];
    debug_assert!(message.ends_with(payload.as_bytes()));

    let keys = jwks.get("keys").and_then(Value::as_array);
    let candidates = keys
        .into_iter()
        .flatten()
        .filter(|k| kid.is_none_or(|kid| k.get("kid").and_then(Value::as_str) == Some(kid)))
        .filter(|k| {
            k.get("use")
                .and_then(Value::as_str)
                .is_none_or(|u| u == "sig")
        })
        .filter(|k| {
            k.get("alg")
                .and_then(Value::as_str)
                .is_none_or(|a| a == alg)
        })
        .filter(|k| fits(alg, k));
    let mut tried = false;
    for key in candidates {
        tried = true;
        if check(alg, key, message, &signature).is_ok() {
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

/// Whether a key's type (and curve) can verify `alg` at all.
fn fits(alg: &str, key: &Value) -> bool {
    let text = |m| key.get(m).and_then(Value::as_str);
    match alg {
        "RS256" | "PS256" | "PS384" => text("kty") == Some("RSA"),
        "ES256" => text("kty") == Some("EC") && text("crv") == Some("P-256"),
        "ES384" => text("kty") == Some("EC") && text("crv") == Some("P-384"),
        "EdDSA" => text("kty") == Some("OKP") && text("crv") == Some("Ed25519"),
        _ => false,
    }
}

fn check(alg: &str, key: &Value, message: &[u8], sig: &[u8]) -> Result<(), ()> {
    let member = |m: &str| {
        key.get(m)
            .and_then(Value::as_str)
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
            .ok_or(())
    };
    let rsa = |params: &'static signature::RsaParameters| -> Result<(), ()> {
        let (n, e) = (member("n")?, member("e")?);
        RsaPublicKeyComponents { n: &n, e: &e }
            .verify(params, message, sig)
            .map_err(|_| ())
    };
    let ec = |params: &'static signature::EcdsaVerificationAlgorithm| -> Result<(), ()> {
        let (x, y) = (member("x")?, member("y")?);
        let point = [&[4u8][..], &x, &y].concat();
        UnparsedPublicKey::new(params, point)
            .verify(message, sig)
            .map_err(|_| ())
    };
    match alg {
        "RS256" => rsa(&signature::RSA_PKCS1_2048_8192_SHA256),
        "PS256" => rsa(&signature::RSA_PSS_2048_8192_SHA256),
        "PS384" => rsa(&signature::RSA_PSS_2048_8192_SHA384),
        "ES256" => ec(&signature::ECDSA_P256_SHA256_FIXED),
        "ES384" => ec(&signature::ECDSA_P384_SHA384_FIXED),
        "EdDSA" => UnparsedPublicKey::new(&signature::ED25519, member("x")?)
            .verify(message, sig)
            .map_err(|_| ()),
        _ => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use josekit::jws::{ES256, EdDSA, JwsHeader, PS256, RS256};
    use josekit::jwt::JwtPayload;
    use serde_json::json;

    fn signed(alg: &str, kid: &str) -> (String, Value) {
        let mut header = JwsHeader::new();
        header.set_key_id(kid);
        let mut payload = JwtPayload::new();
        payload.set_subject("s");
        let (token, mut public) = match alg {
            "ES256" => {
                let k = ES256.generate_key_pair().unwrap();
                let s = ES256.signer_from_jwk(&k.to_jwk_private_key()).unwrap();
                (
                    josekit::jwt::encode_with_signer(&payload, &header, &s).unwrap(),
                    k.to_jwk_public_key(),
                )
            }
            "RS256" => {
                let k = RS256.generate_key_pair(2048).unwrap();
                let s = RS256.signer_from_jwk(&k.to_jwk_private_key()).unwrap();
                (
                    josekit::jwt::encode_with_signer(&payload, &header, &s).unwrap(),
                    k.to_jwk_public_key(),
                )
            }
            "PS256" => {
                let k = PS256.generate_key_pair(2048).unwrap();
                let s = PS256.signer_from_jwk(&k.to_jwk_private_key()).unwrap();
                (
                    josekit::jwt::encode_with_signer(&payload, &header, &s).unwrap(),
                    k.to_jwk_public_key(),
                )
            }
            _ => {
                let k = EdDSA
                    .generate_key_pair(josekit::jwk::alg::ed::EdCurve::Ed25519)
                    .unwrap();
                let s = EdDSA.signer_from_jwk(&k.to_jwk_private_key()).unwrap();
                (
                    josekit::jwt::encode_with_signer(&payload, &header, &s).unwrap(),
                    k.to_jwk_public_key(),
                )
            }
        };
        public.set_key_id(kid);
        (
            token,
            json!({ "keys": [Value::Object(public.as_ref().clone())] }),
        )
    }

    #[test]
    fn never_none_never_hmac() {
        for alg in ALGS {
            assert!(!alg.starts_with("HS") && alg != "none", "{alg}");
        }
    }

    #[test]
    fn verifies_every_allowed_algorithm_with_its_key_only() {
        for alg in ["ES256", "RS256", "PS256", "EdDSA"] {
            let (token, jwks) = signed(alg, "k1");
            assert!(verify(&token, &jwks).is_ok(), "{alg}");
            let (_, other) = signed(alg, "k1");
            assert!(
                matches!(
                    verify(&token, &other),
                    Err(SignatureVerificationError::CryptoError(_))
                ),
                "{alg}"
            );
            let (_, unknown_kid) = signed(alg, "k2");
            assert!(
                matches!(
                    verify(&token, &unknown_kid),
                    Err(SignatureVerificationError::NoMatchingKey)
                ),
                "{alg}"
            );
            // A tampered payload does not verify.
            let mut parts: Vec<&str> = token.split('.').collect();
            let forged = URL_SAFE_NO_PAD.encode(br#"{"sub":"someone else"}"#);
            parts[1] = &forged;
            assert!(verify(&parts.join("."), &jwks).is_err(), "{alg}");
        }
    }

    #[test]
    fn refuses_none_hmac_and_mismatched_keys() {
        let (token, jwks) = signed("ES256", "k1");
        let body = token.split('.').nth(1).unwrap();
        for header in [r#"{"alg":"none"}"#, r#"{"alg":"HS256","kid":"k1"}"#] {
            let forged = format!("{}.{body}.c2ln", URL_SAFE_NO_PAD.encode(header));
            assert!(matches!(
                verify(&forged, &jwks),
                Err(SignatureVerificationError::DisallowedAlg(_))
            ));
        }
        let unsigned = format!("{}.{body}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256"}"#));
        assert!(matches!(
            verify(&unsigned, &jwks),
            Err(SignatureVerificationError::NoSignature)
        ));
        // A key registered for another algorithm or for encryption is not used.
        let mut wrong = jwks.clone();
        wrong["keys"][0]["alg"] = json!("ES384");
        assert!(matches!(
            verify(&token, &wrong),
            Err(SignatureVerificationError::NoMatchingKey)
        ));
        let mut enc = jwks.clone();
        enc["keys"][0]["use"] = json!("enc");
        assert!(matches!(
            verify(&token, &enc),
            Err(SignatureVerificationError::NoMatchingKey)
        ));
        for junk in ["", "a.b", "a.b.c.d", "!.!.!"] {
            assert!(verify(junk, &jwks).is_err());
        }
    }
}
