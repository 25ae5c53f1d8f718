use super::*;
use josekit::jwk::KeyPair as _;
use josekit::jwk::alg::ed::EdCurve;
use josekit::jws::{HS256, JwsHeader, JwsSigner};
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

fn sign(claims: &Map<String, Value>, kid: &str, signer: &dyn JwsSigner) -> String {
    let mut header = JwsHeader::new();
    header.set_token_type("JWT");
    header.set_key_id(kid);
    josekit::jws::serialize_compact(&serde_json::to_vec(claims).unwrap(), &header, signer).unwrap()
}

/// A JWKS with one key per allowed algorithm, and a signer for each.
type Signers = Vec<(&'static str, Box<dyn JwsSigner>)>;

fn keys() -> (Value, Signers) {
    let mut published = Vec::new();
    let mut signers: Signers = Vec::new();
    let mut add = |kid: &'static str, alg: &str, private: Jwk, public: Jwk| {
        let (mut private, mut public) = (private, public);
        private.set_algorithm(alg);
        public.set_key_id(kid);
        public.set_algorithm(alg);
        published.push(Value::Object(public.as_ref().clone()));
        let signer: Box<dyn JwsSigner> = match alg {
            "ES256" => Box::new(ES256.signer_from_jwk(&private).unwrap()),
            "RS256" => Box::new(RS256.signer_from_jwk(&private).unwrap()),
            "PS256" => Box::new(PS256.signer_from_jwk(&private).unwrap()),
            _ => Box::new(EdDSA.signer_from_jwk(&private).unwrap()),
        };
        signers.push((kid, signer));
    };
    let ec = ES256.generate_key_pair().unwrap();
    add(
        "ec",
        "ES256",
        ec.to_jwk_private_key(),
        ec.to_jwk_public_key(),
    );
    let rsa = RS256.generate_key_pair(2048).unwrap();
    add(
        "rsa",
        "RS256",
        rsa.to_jwk_private_key(),
        rsa.to_jwk_public_key(),
    );
    add(
        "pss",
        "PS256",
        rsa.to_jwk_private_key(),
        rsa.to_jwk_public_key(),
    );
    let ed = EdDSA.generate_key_pair(EdCurve::Ed25519).unwrap();
    add(
        "ed",
        "EdDSA",
        ed.to_jwk_private_key(),
        ed.to_jwk_public_key(),
    );
    (json!({ "keys": published }), signers)
}

#[test]
fn each_allowed_algorithm_verifies() {
    let (jwks, signers) = keys();
    for (kid, signer) in &signers {
        let token = sign(&claims(), kid, signer.as_ref());
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
    let hmac = HS256.signer_from_bytes([7u8; 32]).unwrap();
    assert_eq!(
        verify_id_token(&sign(&claims(), "ec", &hmac), &jwks, expected()).unwrap_err(),
        IdTokenError::AlgNotAllowed("HS256".into())
    );
    let (_, es256) = &signers[0];
    assert_eq!(
        verify_id_token(&sign(&claims(), "other", es256.as_ref()), &jwks, expected()).unwrap_err(),
        IdTokenError::UnknownKid("other".into())
    );
    // An ES256 token whose kid names the RSA key.
    assert!(matches!(
        verify_id_token(&sign(&claims(), "rsa", es256.as_ref()), &jwks, expected()).unwrap_err(),
        IdTokenError::BadKey(_) | IdTokenError::Signature
    ));
    let mut tampered = sign(&claims(), "ec", es256.as_ref());
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
