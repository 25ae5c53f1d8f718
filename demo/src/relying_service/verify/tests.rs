use super::*;
use crate::jose::{KeyPair, hs256_jws};
use serde_json::json;

const NOW: i64 = 1_750_000_000;

fn expected() -> Expected<'static> {
    Expected {
        issuer: "http://broker.test",
        client_id: "svc",
        nonce: "n-1",
        now: NOW,
    }
}

fn claims() -> Map<String, Value> {
    json!({
        "iss": "http://broker.test", "sub": "pairwise-1", "aud": "svc", "exp": NOW + 300,
        "iat": NOW, "nonce": "n-1", "acr": "urn:pctf:loa:2"
    })
    .as_object()
    .cloned()
    .unwrap()
}

fn sign(claims: &Map<String, Value>, kid: &str, signer: &KeyPair) -> String {
    let header = json!({ "typ": "JWT", "alg": signer.alg(), "kid": kid });
    signer
        .sign_jws(&header, &serde_json::to_vec(claims).unwrap())
        .unwrap()
}

/// A JWKS with one key per allowed algorithm, and a signer for each.
type Signers = Vec<(&'static str, KeyPair)>;

fn keys() -> (Value, Signers) {
    let mut published = Vec::new();
    let mut signers: Signers = Vec::new();
    let mut add = |kid: &'static str, pair: KeyPair| {
        let mut public = pair.public_jwk();
        public.insert("kid".into(), kid.into());
        published.push(Value::Object(public));
        signers.push((kid, pair));
    };
    add("ec", KeyPair::generate("ES256").unwrap());
    add("rsa", KeyPair::generate("RS256").unwrap());
    add("pss", KeyPair::generate("PS256").unwrap());
    add("ed", KeyPair::generate("EdDSA").unwrap());
    (json!({ "keys": published }), signers)
}

#[test]
fn each_allowed_algorithm_verifies() {
    let (jwks, signers) = keys();
    for (kid, signer) in &signers {
        let token = sign(&claims(), kid, signer);
        let verified = verify_id_token(&token, &jwks, expected()).unwrap();
        assert_eq!(verified.header["kid"], *kid);
        assert_eq!(verified.claims["sub"], "pairwise-1");
    }
}

#[test]
fn none_hmac_and_unknown_keys_are_refused() {
    let (jwks, signers) = keys();
    let payload = crate::util::b64url(serde_json::to_vec(&claims()).unwrap());
    let none = format!(
        "{}.{payload}.",
        crate::util::b64url(br#"{"alg":"none","kid":"ec"}"#)
    );
    assert_eq!(
        verify_id_token(&none, &jwks, expected()).unwrap_err(),
        IdTokenError::AlgNotAllowed("none".into())
    );
    let hmac = hs256_jws(
        &json!({ "typ": "JWT", "alg": "HS256", "kid": "ec" }),
        &serde_json::to_vec(&claims()).unwrap(),
        &[7u8; 32],
    );
    assert_eq!(
        verify_id_token(&hmac, &jwks, expected()).unwrap_err(),
        IdTokenError::AlgNotAllowed("HS256".into())
    );
    let (_, es256) = &signers[0];
    assert_eq!(
        verify_id_token(&sign(&claims(), "other", es256), &jwks, expected()).unwrap_err(),
        IdTokenError::UnknownKid("other".into())
    );
    // An ES256 token whose kid names the RSA key.
    assert!(matches!(
        verify_id_token(&sign(&claims(), "rsa", es256), &jwks, expected()).unwrap_err(),
        IdTokenError::BadKey(_) | IdTokenError::Signature
    ));
    let mut tampered = sign(&claims(), "ec", es256);
    tampered.push('A');
    assert!(verify_id_token(&tampered, &jwks, expected()).is_err());
    assert_eq!(
        verify_id_token("a.b", &jwks, expected()).unwrap_err(),
        IdTokenError::Malformed
    );
}

#[test]
fn claims_are_checked() {
    let cases: [(&str, Value, IdTokenError); 8] = [
        (
            "iss",
            json!("http://other.test"),
            IdTokenError::Issuer("http://other.test".into()),
        ),
        ("aud", json!("another"), IdTokenError::Audience),
        (
            "aud",
            json!(["svc", "another"]),
            IdTokenError::AuthorizedParty,
        ),
        ("azp", json!("another"), IdTokenError::AuthorizedParty),
        ("exp", json!(NOW - SKEW_SECS - 1), IdTokenError::Expired),
        (
            "iat",
            json!(NOW + SKEW_SECS + 1),
            IdTokenError::IssuedInFuture,
        ),
        ("nonce", json!("n-2"), IdTokenError::Nonce),
        ("sub", json!(""), IdTokenError::NoSubject),
    ];
    for (name, value, error) in cases {
        let mut c = claims();
        c.insert(name.into(), value);
        assert_eq!(check_claims(&c, expected()), Err(error), "{name}");
    }
    let mut c = claims();
    c.insert("aud".into(), json!(["svc", "another"]));
    c.insert("azp".into(), json!("svc"));
    assert_eq!(check_claims(&c, expected()), Ok(()));
    c.insert("exp".into(), json!(NOW - 10));
    assert_eq!(
        check_claims(&c, expected()),
        Ok(()),
        "within the allowed skew"
    );
}
