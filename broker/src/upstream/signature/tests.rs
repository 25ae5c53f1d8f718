use crate::keys::testing::TestKey as KeyPair;
use serde_json::json;

use super::*;

/// A token of `alg` with `kid`, and a JWKS holding its key under that kid.
fn signed(alg: &str, kid: &str) -> (String, Value) {
    let key = KeyPair::generate(alg).unwrap();
    let token = key
        .sign_jws(&json!({ "alg": alg, "kid": kid }), br#"{"sub":"s"}"#)
        .unwrap();
    let mut public = key.public_jwk();
    public.insert("kid".into(), kid.into());
    (token, json!({ "keys": [Value::Object(public)] }))
}

fn check(token: &str, jwks: &Value) -> Result<(), SignatureVerificationError> {
    verify(token, &ProviderKeys::from_value(jwks))
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
        assert!(check(&token, &jwks).is_ok(), "{alg}");
        let (_, other) = signed(alg, "k1");
        assert!(
            matches!(
                check(&token, &other),
                Err(SignatureVerificationError::CryptoError(_))
            ),
            "{alg}"
        );
        let (_, unknown_kid) = signed(alg, "k2");
        assert!(
            matches!(
                check(&token, &unknown_kid),
                Err(SignatureVerificationError::NoMatchingKey)
            ),
            "{alg}"
        );
        // A tampered payload does not verify.
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(br#"{"sub":"someone else"}"#);
        parts[1] = &forged;
        assert!(check(&parts.join("."), &jwks).is_err(), "{alg}");
    }
}

#[test]
fn refuses_none_hmac_and_mismatched_keys() {
    let (token, jwks) = signed("ES256", "k1");
    let body = token.split('.').nth(1).unwrap();
    for header in [r#"{"alg":"none"}"#, r#"{"alg":"HS256","kid":"k1"}"#] {
        let forged = format!("{}.{body}.c2ln", URL_SAFE_NO_PAD.encode(header));
        assert!(matches!(
            check(&forged, &jwks),
            Err(SignatureVerificationError::DisallowedAlg(_))
        ));
    }
    let unsigned = format!("{}.{body}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256"}"#));
    assert!(matches!(
        check(&unsigned, &jwks),
        Err(SignatureVerificationError::NoSignature)
    ));
    // A key registered for another algorithm or for encryption is not used.
    let mut wrong = jwks.clone();
    wrong["keys"][0]["alg"] = json!("ES384");
    assert!(matches!(
        check(&token, &wrong),
        Err(SignatureVerificationError::NoMatchingKey)
    ));
    let mut enc = jwks.clone();
    enc["keys"][0]["use"] = json!("enc");
    assert!(matches!(
        check(&token, &enc),
        Err(SignatureVerificationError::NoMatchingKey)
    ));
    for junk in ["", "a.b", "a.b.c.d", "!.!.!"] {
        assert!(check(junk, &jwks).is_err());
    }
}

/// An HMAC key in the set is never a candidate, whatever the header says; a header with
/// `crit` is refused; a key of another curve does not fit.
#[test]
fn symmetric_keys_crit_and_other_curves_are_refused() {
    let secret = URL_SAFE_NO_PAD.encode(b"the client secret");
    let oct = json!({ "keys": [{ "kty": "oct", "k": secret, "kid": "k1" }] });
    assert!(ProviderKeys::from_value(&oct).is_empty());
    let hs = crate::keys::testing::hs256_jws(
        &json!({ "alg": "HS256", "kid": "k1" }),
        b"{}",
        b"the client secret",
    );
    assert!(matches!(
        check(&hs, &oct),
        Err(SignatureVerificationError::DisallowedAlg(_))
    ));
    let key = KeyPair::generate("ES256").unwrap();
    let crit = key
        .sign_jws(&json!({ "alg": "ES256", "crit": ["exp"], "exp": 1 }), b"{}")
        .unwrap();
    let jwks = json!({ "keys": [Value::Object(key.public_jwk())] });
    assert!(matches!(
        check(&crit, &jwks),
        Err(SignatureVerificationError::Other(_))
    ));
    let (token, mut p384) = signed("ES256", "k1");
    p384["keys"][0]["crv"] = json!("P-384");
    assert!(matches!(
        check(&token, &p384),
        Err(SignatureVerificationError::NoMatchingKey)
    ));
}

/// Keys that do not parse are left out, and the others still verify.
#[test]
fn a_set_keeps_the_keys_it_can_read() {
    let (token, jwks) = signed("EdDSA", "k1");
    let mut keys = jwks["keys"].as_array().unwrap().clone();
    keys.insert(
        0,
        json!({ "kty": "EC", "crv": "secp256k1", "x": "AA", "y": "AA" }),
    );
    keys.insert(0, json!({ "kty": "RSA", "n": 7, "e": "AQAB" }));
    keys.insert(0, json!("not a key"));
    let body = serde_json::to_vec(&json!({ "keys": keys })).unwrap();
    let set = ProviderKeys::from_json(&body).unwrap();
    assert_eq!(set.len(), 1);
    assert!(verify(&token, &set).is_ok());
    assert!(ProviderKeys::from_json(br#"{"no":"keys"}"#).is_err());
}
