use crate::keys::testing::TestKey as KeyPair;
use serde_json::json;
use time::macros::datetime;

use super::*;

const NOW: time::OffsetDateTime = datetime!(2026-11-24 12:00 UTC);
const ISSUER: &str = "https://idp.example";
const CLIENT: &str = "broker-at-idp";
const NONCE: &str = "n-0S6_WzA2Mj";

fn expected() -> Expected<'static> {
    Expected {
        issuer: ISSUER,
        client_id: CLIENT,
        nonce: NONCE,
        now: NOW,
    }
}

fn good() -> Map<String, Value> {
    let now = NOW.unix_timestamp();
    let Value::Object(claims) = json!({
        "iss": ISSUER,
        "sub": "person-1",
        "aud": CLIENT,
        "exp": now + 300,
        "iat": now - 5,
        "nonce": NONCE,
        "acr": "urn:idp:loa2",
        "given_name": "Amélie",
    }) else {
        unreachable!()
    };
    claims
}

/// A key pair's JWKS and a signer of payloads with it.
struct Key {
    jwks: ProviderKeys,
    signer: KeyPair,
}

impl Key {
    fn new() -> Self {
        let signer = KeyPair::generate("ES256").unwrap();
        let mut public = signer.public_jwk();
        public.insert("kid".into(), "k1".into());
        Self {
            jwks: ProviderKeys::from_value(&json!({ "keys": [Value::Object(public)] })),
            signer,
        }
    }

    /// Signs the claims as they are (a JWT encoder might refuse some of the wrong types tested
    /// here).
    fn sign(&self, claims: &Map<String, Value>) -> String {
        let header = json!({ "alg": "ES256", "kid": "k1" });
        let payload = serde_json::to_vec(claims).unwrap();
        self.signer.sign_jws(&header, &payload).unwrap()
    }
}

/// The good claims with `name` set to `value`.
fn set(name: &str, value: Value) -> Map<String, Value> {
    let mut claims = good();
    claims.insert(name.into(), value);
    claims
}

/// The good claims without `name`.
fn without(name: &str) -> Map<String, Value> {
    let mut claims = good();
    claims.remove(name);
    claims
}

#[test]
fn a_good_token_gives_its_subject_and_every_claim() {
    let key = Key::new();
    let verified = verify(&key.sign(&good()), &key.jwks, &expected()).unwrap();
    assert_eq!(verified.subject, "person-1");
    assert_eq!(verified.claims, good());
    // A one-element audience array and our own azp are the same audience.
    let mut listed = set("aud", json!([CLIENT]));
    listed.insert("azp".into(), json!(CLIENT));
    assert!(verify(&key.sign(&listed), &key.jwks, &expected()).is_ok());
}

#[test]
fn a_signature_by_another_key_is_refused_and_an_unknown_kid_says_so() {
    let (key, other) = (Key::new(), Key::new());
    let e = verify(&other.sign(&good()), &key.jwks, &expected()).unwrap_err();
    assert!(matches!(e, IdTokenError::Signature(_)), "{e}");
    assert!(!e.is_no_matching_key());
    let unknown = ProviderKeys::from_value(&json!({ "keys": [] }));
    let e = verify(&key.sign(&good()), &unknown, &expected()).unwrap_err();
    assert!(e.is_no_matching_key(), "{e}");
    assert!(e.to_string().starts_with("signature"), "{e}");
}

#[test]
fn every_claim_rule_refuses_with_a_reason_that_names_it() {
    let now = NOW.unix_timestamp();
    let skew = i64::try_from(MAX_IAT_SKEW.as_secs()).unwrap();
    let age = i64::try_from(MAX_IAT_AGE.as_secs()).unwrap();
    let cases: Vec<(Map<String, Value>, &str)> = vec![
        (set("iss", json!("https://idp.example/")), "issuer"),
        (without("iss"), "iss is missing"),
        (set("aud", json!("someone-else")), "audience"),
        (set("aud", json!([CLIENT, "someone-else"])), "audience"),
        (set("aud", json!([])), "audience"),
        (without("aud"), "aud is missing"),
        (set("azp", json!("someone-else")), "azp"),
        (set("exp", json!(now)), "expired"),
        (set("exp", json!("tomorrow")), "exp is missing"),
        (without("exp"), "exp is missing"),
        (set("iat", json!(now + skew + 1)), "future"),
        (set("iat", json!(now - age - 1)), "too long ago"),
        (without("iat"), "iat is missing"),
        (set("nonce", json!("n-other")), "nonce"),
        (without("nonce"), "nonce"),
        (set("sub", json!("")), "sub is missing"),
        (set("sub", json!(42)), "sub is missing"),
    ];
    let key = Key::new();
    for (claims, reason) in cases {
        let e = verify(&key.sign(&claims), &key.jwks, &expected()).unwrap_err();
        assert!(
            e.to_string().contains(reason),
            "{e} should say {reason:?}: {claims:?}"
        );
    }
}

#[test]
fn times_are_checked_at_their_bounds() {
    let now = NOW.unix_timestamp();
    let skew = i64::try_from(MAX_IAT_SKEW.as_secs()).unwrap();
    let age = i64::try_from(MAX_IAT_AGE.as_secs()).unwrap();
    let key = Key::new();
    for claims in [
        set("exp", json!(now + 1)),
        set("iat", json!(now + skew)),
        set("iat", json!(now - age)),
        // A NumericDate may carry a fraction of a second.
        set("exp", json!(now as f64 + 60.5)),
    ] {
        assert!(
            verify(&key.sign(&claims), &key.jwks, &expected()).is_ok(),
            "{claims:?}"
        );
    }
    let e = verify(
        &key.sign(&set("exp", json!(f64::MAX))),
        &key.jwks,
        &expected(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("exp is missing"), "{e}");
}

#[test]
fn a_payload_that_is_not_a_json_object_is_refused_after_the_signature() {
    let key = Key::new();
    let token = key.sign(&good());
    let header = token.split('.').next().unwrap();
    // Not signed by the key: refused for its signature before its payload is looked at.
    let forged = format!("{header}.{}.c2ln", URL_SAFE_NO_PAD.encode("[1,2]"));
    assert!(matches!(
        verify(&forged, &key.jwks, &expected()).unwrap_err(),
        IdTokenError::Signature(_)
    ));
    for junk in ["", "a.b.c", "!.!.!"] {
        assert!(payload(junk).is_err(), "{junk}");
    }
    let array = format!("x.{}.y", URL_SAFE_NO_PAD.encode("[1,2]"));
    assert!(matches!(payload(&array), Err(IdTokenError::Payload(_))));
}
